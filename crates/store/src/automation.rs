//! Automation integrations: their rows (tokens stored as hashes), and through `apply` what
//! their alerts, webhooks, pings and checks do to components.

mod apply;
mod checks;
mod incident;
mod receive;

pub use checks::CheckResult;

use chrono::{DateTime, Utc};
use herald_domain::actor::Actor;
use herald_domain::apikey::GeneratedKey;
use herald_domain::automation::checks::CheckState;
use herald_domain::automation::{
    ComponentAutomation, Integration, IntegrationConfig, IntegrationInput, IntegrationKind, Wish,
};
use herald_domain::clock::from_ms;
use herald_domain::id::PageId;
use serde_json::json;

use crate::columns::cols;
use crate::components::page_components_tx;
use crate::db::{Tx, args};
use crate::templates::template_ids_tx;
use crate::write::{Touched, Write};
use crate::{Result, Store, StoreError};

pub(crate) const COLUMNS: &str = "id, page_id, kind, name, token_prefix, config, requests, last_request_at, check_state, check_due_at, created_at, updated_at";

#[derive(sqlx::FromRow)]
pub(crate) struct IntegrationRow {
    id: String,
    page_id: String,
    kind: String,
    name: String,
    token_prefix: String,
    config: String,
    requests: i64,
    last_request_at: Option<i64>,
    check_state: String,
    #[expect(dead_code, reason = "selected with the rest; read by due_checks")]
    check_due_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl IntegrationRow {
    pub(crate) fn into_integration(self) -> Result<Integration> {
        let bad = |what: &str, e: String| {
            StoreError::Internal(format!("integration {} {what}: {e}", self.id))
        };
        Ok(Integration {
            kind: self
                .kind
                .parse::<IntegrationKind>()
                .map_err(|()| bad("kind", self.kind.clone()))?,
            config: serde_json::from_str::<IntegrationConfig>(&self.config)
                .map_err(|e| bad("config", e.to_string()))?,
            check_state: serde_json::from_str::<CheckState>(&self.check_state)
                .map_err(|e| bad("check state", e.to_string()))?,
            id: self.id,
            page_id: PageId::from(self.page_id),
            name: self.name,
            token_prefix: self.token_prefix,
            requests: self.requests,
            last_request_at: self.last_request_at.map(from_ms),
            created_at: from_ms(self.created_at),
            updated_at: from_ms(self.updated_at),
        })
    }
}

pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Internal(e.to_string()))
}

/// Reads an integration inside a write.
pub(crate) async fn integration_tx(tx: &mut Tx, id: &str) -> Result<Integration> {
    let row: Option<IntegrationRow> = tx
        .fetch_optional(
            sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM integrations WHERE id = $1")),
            args![id],
        )
        .await?;
    row.ok_or(StoreError::NotFound)?.into_integration()
}

fn audit_view(i: &Integration) -> serde_json::Value {
    json!({"type": i.kind.as_str(), "name": i.name, "token_prefix": i.token_prefix,
           "config": serde_json::to_value(&i.config).unwrap_or_default()})
}

impl Store {
    /// A page's integrations, oldest first.
    pub async fn list_integrations(&self, page_id: &PageId) -> Result<Vec<Integration>> {
        let rows: Vec<IntegrationRow> = self
            .db
            .read(
                sqlx::AssertSqlSafe(format!(
                    "SELECT {COLUMNS} FROM integrations WHERE page_id = $1 ORDER BY created_at, id"
                )),
                args![page_id],
            )
            .await?;
        rows.into_iter()
            .map(IntegrationRow::into_integration)
            .collect()
    }

    /// One integration of a page.
    pub async fn get_integration(&self, page_id: &PageId, id: &str) -> Result<Option<Integration>> {
        let rows: Vec<IntegrationRow> = self
            .db
            .read(
                sqlx::AssertSqlSafe(format!(
                    "SELECT {COLUMNS} FROM integrations WHERE page_id = $1 AND id = $2"
                )),
                args![page_id, id],
            )
            .await?;
        rows.into_iter()
            .next()
            .map(IntegrationRow::into_integration)
            .transpose()
    }

    /// The integration whose token has this hash.
    pub async fn find_integration_by_token(&self, hash: &str) -> Result<Option<Integration>> {
        let rows: Vec<IntegrationRow> = self
            .db
            .read(
                sqlx::AssertSqlSafe(format!(
                    "SELECT {COLUMNS} FROM integrations WHERE token_hash = $1"
                )),
                args![hash],
            )
            .await?;
        rows.into_iter()
            .next()
            .map(IntegrationRow::into_integration)
            .transpose()
    }

    /// Creates an integration with `token` (whose hash alone is stored).
    pub async fn create_integration(
        &self,
        page_id: &PageId,
        input: &IntegrationInput,
        token: &GeneratedKey,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Integration> {
        let mut w = Write::on_page(self, page_id, actor, now).await?;
        w.touch(Touched::Nothing);
        let components = page_components_tx(&mut w.tx, page_id).await?;
        let templates = template_ids_tx(&mut w.tx, page_id.as_str()).await?;
        let mut i = Integration::parse(page_id, input, &components, &templates, w.now)?;
        i.token_prefix.clone_from(&token.prefix);
        let due = i
            .config
            .check
            .as_ref()
            .map(|c| checks::first_due(i.kind, c, w.now));
        w.tx.execute(
            "INSERT INTO integrations (id, page_id, kind, name, token_hash, token_prefix, config, requests, check_state, check_due_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9, $10, $10)",
            args![
                &i.id,
                page_id,
                i.kind.as_str(),
                &i.name,
                &token.hash,
                &token.prefix,
                to_json(&i.config)?,
                to_json(&i.check_state)?,
                due,
                w.now
            ],
        )
        .await?;
        w.audit(
            Some(page_id),
            "integration.create",
            "integration",
            &i.id,
            json!({"integration": [null, audit_view(&i)]}),
        )
        .await?;
        w.commit().await?;
        Ok(i)
    }

    /// Changes an integration; `new_token` replaces its token (the old one stops working).
    pub async fn update_integration(
        &self,
        page_id: &PageId,
        id: &str,
        input: &IntegrationInput,
        new_token: Option<&GeneratedKey>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Integration> {
        let mut w = Write::on_page(self, page_id, actor, now).await?;
        w.touch(Touched::Nothing);
        let before = integration_tx(&mut w.tx, id).await?;
        if before.page_id != *page_id {
            return Err(StoreError::NotFound);
        }
        let components = page_components_tx(&mut w.tx, page_id).await?;
        let mut after = before.clone();
        let templates = template_ids_tx(&mut w.tx, page_id.as_str()).await?;
        after.apply(input, &components, &templates, w.now)?;
        if let Some(t) = new_token {
            after.token_prefix.clone_from(&t.prefix);
            w.tx.execute(
                "UPDATE integrations SET token_hash = $2, token_prefix = $3 WHERE id = $1",
                args![id, &t.hash, &t.prefix],
            )
            .await?;
        }
        w.tx.execute(
            "UPDATE integrations SET name = $2, config = $3, updated_at = $4 WHERE id = $1",
            args![id, &after.name, to_json(&after.config)?, w.now],
        )
        .await?;
        w.audit(
            Some(page_id),
            "integration.update",
            "integration",
            id,
            json!({"integration": [audit_view(&before), audit_view(&after)]}),
        )
        .await?;
        w.commit().await?;
        Ok(after)
    }

    /// Deletes an integration and what it remembers of its alerts.
    pub async fn delete_integration(
        &self,
        page_id: &PageId,
        id: &str,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Integration> {
        let mut w = Write::on_page(self, page_id, actor, now).await?;
        w.touch(Touched::Nothing);
        let before = integration_tx(&mut w.tx, id).await?;
        if before.page_id != *page_id {
            return Err(StoreError::NotFound);
        }
        w.tx.execute(
            "DELETE FROM integration_alerts WHERE integration_id = $1",
            args![id],
        )
        .await?;
        w.tx.execute("DELETE FROM integrations WHERE id = $1", args![id])
            .await?;
        w.audit(
            Some(page_id),
            "integration.delete",
            "integration",
            id,
            json!({"integration": [audit_view(&before), null]}),
        )
        .await?;
        w.commit().await?;
        Ok(before)
    }

    /// What automation knows of each component of a page (for the admin UI).
    pub async fn component_automation(&self, page_id: &PageId) -> Result<Vec<ComponentAutomation>> {
        let rows: Vec<apply::StateRow> = self
            .db
            .read(
                concat!(
                    "SELECT ",
                    cols!(component_automation),
                    " FROM component_automation WHERE page_id = $1"
                ),
                args![page_id],
            )
            .await?;
        Ok(rows.into_iter().map(apply::StateRow::into_state).collect())
    }
}

/// A wish as `apply` takes it.
pub(crate) fn wish(
    status: herald_domain::status::ComponentStatus,
    source: &str,
    reason: String,
) -> Wish {
    Wish {
        status,
        source: source.to_owned(),
        reason,
        incident: None,
    }
}
