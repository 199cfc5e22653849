//! Imported metrics providers and metrics: their definitions, ids and times kept. Points are
//! not imported (Statuspage's API has no read of them); a pulled metric backfills from its
//! provider at its first poll.
//!
//! A provider's credentials are never overwritten by an import (the source never sends
//! them), so a re-run leaves credentials an operator has set since alone. A metric's polling
//! state and points are never touched by an import.

use chrono::{DateTime, Utc};
use herald_domain::actor::Actor;
use herald_domain::metric::{Metric, Provider};
use serde_json::json;

use super::{Imported, claim, finish, owners};
use crate::db::args;
use crate::metrics::settings_json;
use crate::write::{Touched, Write};
use crate::{Result, Store, StoreError};

impl Store {
    /// Writes a provider as the source has it (id, type, settings, times); a new one gets
    /// `p`'s credentials (none, from Statuspage), an existing one keeps its own.
    pub async fn import_provider(
        &self,
        p: &Provider,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Imported> {
        let existing = self.get_provider(&p.page_id, &p.id).await?;
        if existing.as_ref().is_some_and(|e| e.same_imported(p)) {
            return Ok(Imported::Unchanged);
        }
        let mut w = Write::on_page(self, &p.page_id, actor, now).await?;
        w.touch(Touched::Everything);
        claim(
            &mut w,
            "metrics_providers",
            "metrics provider",
            &p.id,
            &p.page_id,
        )
        .await?;
        if let Some(e) = &existing {
            if e.kind != p.kind {
                return Err(StoreError::Conflict(format!(
                    "metrics provider {} is a {} provider here and a {} provider at the source",
                    p.id,
                    e.kind.as_str(),
                    p.kind.as_str()
                )));
            }
            w.tx.execute(
                "UPDATE metrics_providers SET disabled = $2, metric_base_uri = $3, settings = $4, created_at = $5, \
                   updated_at = $6 WHERE id = $1",
                args![
                    &p.id, p.disabled, p.metric_base_uri.as_deref(), settings_json(p), p.created_at,
                    p.updated_at
                ],
            )
            .await?;
        } else {
            w.tx.execute(
                "INSERT INTO metrics_providers (id, page_id, type, disabled, metric_base_uri, credentials, settings, \
                   created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                args![
                    &p.id, &p.page_id, p.kind.as_str(), p.disabled, p.metric_base_uri.as_deref(),
                    crate::metrics::credentials_json(p)?, settings_json(p), p.created_at, p.updated_at
                ],
            )
            .await?;
        }
        let what = (&p.page_id, "metrics_provider", p.id.as_str());
        let changes = json!({"type": [null, p.kind.as_str()], "disabled": [null, p.disabled]});
        finish(w, what, changes, existing.is_some()).await
    }

    /// Writes a metric's definition as the source has it (id, provider, position, times);
    /// its provider must be on the page. A new metric starts with no points, polled (if its
    /// provider is pulled) from `m.backfill_from`.
    pub async fn import_metric(
        &self,
        m: &Metric,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Imported> {
        let existing = self.get_metric(&m.page_id, &m.id).await?;
        if existing.as_ref().is_some_and(|e| e.same_imported(m)) {
            return Ok(Imported::Unchanged);
        }
        let mut w = Write::on_page(self, &m.page_id, actor, now).await?;
        w.touch(Touched::Everything);
        claim(&mut w, "metrics", "metric", &m.id, &m.page_id).await?;
        let provider = owners(&mut w.tx, "metrics_providers", &[m.provider_id.as_str()]).await?;
        if provider.get(&m.provider_id).map(String::as_str) != Some(m.page_id.as_str()) {
            return Err(StoreError::Conflict(format!(
                "metric {}: its provider {} is not on this page",
                m.id, m.provider_id
            )));
        }
        if existing.is_some() {
            w.tx.execute(
                "UPDATE metrics SET provider_id = $2, name = $3, metric_identifier = $4, transform = $5, suffix = $6, \
                   y_axis_min = $7, y_axis_max = $8, y_axis_hidden = $9, display = $10, decimal_places = $11, \
                   tooltip_description = $12, position = $13, created_at = $14, updated_at = $15 WHERE id = $1",
                args![
                    &m.id, &m.provider_id, &m.name, &m.metric_identifier, m.transform.as_str(), &m.suffix,
                    m.y_axis_min, m.y_axis_max, m.y_axis_hidden, m.display, m.decimal_places,
                    &m.tooltip_description, m.position, m.created_at, m.updated_at
                ],
            )
            .await?;
        } else {
            w.tx.execute(
                "INSERT INTO metrics (id, page_id, provider_id, name, metric_identifier, transform, suffix, y_axis_min, \
                   y_axis_max, y_axis_hidden, display, decimal_places, tooltip_description, position, backfill_from, \
                   created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
                args![
                    &m.id, &m.page_id, &m.provider_id, &m.name, &m.metric_identifier, m.transform.as_str(),
                    &m.suffix, m.y_axis_min, m.y_axis_max, m.y_axis_hidden, m.display, m.decimal_places,
                    &m.tooltip_description, m.position, m.backfill_from.timestamp(), m.created_at, m.updated_at
                ],
            )
            .await?;
        }
        let what = (&m.page_id, "metric", m.id.as_str());
        finish(w, what, json!({"name": [null, m.name]}), existing.is_some()).await
    }
}
