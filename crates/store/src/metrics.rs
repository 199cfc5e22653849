//! Metrics providers and metrics: their rows and CRUD. Points, rollups and the pollers'
//! bookkeeping are in `metric_points.rs`.
//!
//! A change to a metric's definition is on the public page (its chart): the write records
//! the target `metrics` in `page_changes`, so every node reloads the page's metrics.
//! Provider credentials are stored as a JSON object and read back only for the poller; the
//! audit log records that they changed, never their value.

use chrono::{DateTime, Utc};
use herald_domain::actor::Actor;
use herald_domain::clock::from_ms;
use herald_domain::id::PageId;
use herald_domain::metric::{Credentials, Metric, Provider, ProviderKind, Transform};
use serde_json::json;

use crate::columns::cols;
use crate::db::args;
use crate::write::{Touched, Write};
use crate::{Result, Store, StoreError};

#[derive(sqlx::FromRow)]
struct ProviderRow {
    id: String,
    page_id: String,
    #[sqlx(rename = "type")]
    kind: String,
    disabled: bool,
    metric_base_uri: Option<String>,
    credentials: String,
    settings: String,
    last_revalidated_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl ProviderRow {
    fn into_provider(self) -> Result<Provider> {
        let kind = ProviderKind::parse("type", &self.kind)
            .map_err(|e| StoreError::Internal(format!("provider {}: {e}", self.id)))?;
        let credentials: Credentials = serde_json::from_str(&self.credentials)
            .map_err(|e| StoreError::Internal(format!("provider {} credentials: {e}", self.id)))?;
        let settings: serde_json::Value = serde_json::from_str(&self.settings).unwrap_or_default();
        Ok(Provider {
            id: self.id,
            page_id: PageId::from(self.page_id),
            kind,
            disabled: self.disabled,
            metric_base_uri: self.metric_base_uri,
            credentials,
            account_id: settings["account_id"].as_i64(),
            last_revalidated_at: self.last_revalidated_at.map(from_ms),
            created_at: from_ms(self.created_at),
            updated_at: from_ms(self.updated_at),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct MetricRow {
    id: String,
    page_id: String,
    provider_id: String,
    name: String,
    metric_identifier: String,
    transform: String,
    suffix: String,
    y_axis_min: Option<f64>,
    y_axis_max: Option<f64>,
    y_axis_hidden: bool,
    display: bool,
    decimal_places: i64,
    tooltip_description: String,
    position: i64,
    backfill_from: i64,
    watermark: Option<i64>,
    fetched_to: Option<i64>,
    most_recent_data_at: Option<i64>,
    last_fetched_at: Option<i64>,
    last_error: Option<String>,
    last_error_at: Option<i64>,
    data_rev: i64,
    created_at: i64,
    updated_at: i64,
}

fn secs(s: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(s, 0).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

impl MetricRow {
    pub(crate) fn into_metric(self) -> Metric {
        Metric {
            id: self.id,
            page_id: PageId::from(self.page_id),
            provider_id: self.provider_id,
            name: self.name,
            metric_identifier: self.metric_identifier,
            transform: Transform::from_stored(&self.transform),
            suffix: self.suffix,
            y_axis_min: self.y_axis_min,
            y_axis_max: self.y_axis_max,
            y_axis_hidden: self.y_axis_hidden,
            display: self.display,
            decimal_places: self.decimal_places,
            tooltip_description: self.tooltip_description,
            position: self.position,
            backfill_from: secs(self.backfill_from),
            watermark: self.watermark.map(secs),
            fetched_to: self.fetched_to.map(secs),
            most_recent_data_at: self.most_recent_data_at.map(secs),
            last_fetched_at: self.last_fetched_at.map(from_ms),
            last_error: self.last_error,
            last_error_at: self.last_error_at.map(from_ms),
            data_rev: self.data_rev,
            created_at: from_ms(self.created_at),
            updated_at: from_ms(self.updated_at),
        }
    }
}

pub(crate) fn settings_json(p: &Provider) -> String {
    json!({"account_id": p.account_id}).to_string()
}

pub(crate) fn credentials_json(p: &Provider) -> Result<String> {
    serde_json::to_string(&p.credentials).map_err(|e| StoreError::Internal(e.to_string()))
}

impl Store {
    /// A page's providers, oldest first.
    pub async fn list_providers(&self, page_id: &PageId) -> Result<Vec<Provider>> {
        let rows: Vec<ProviderRow> = self
            .db
            .read(
                concat!(
                    "SELECT ",
                    cols!(metrics_providers),
                    " FROM metrics_providers WHERE page_id = $1 ORDER BY created_at, id"
                ),
                args![page_id],
            )
            .await?;
        rows.into_iter().map(ProviderRow::into_provider).collect()
    }

    /// One provider of a page.
    pub async fn get_provider(&self, page_id: &PageId, id: &str) -> Result<Option<Provider>> {
        let row: Option<ProviderRow> = self
            .db
            .read_opt(
                concat!(
                    "SELECT ",
                    cols!(metrics_providers),
                    " FROM metrics_providers WHERE id = $1 AND page_id = $2"
                ),
                args![id, page_id],
            )
            .await?;
        row.map(ProviderRow::into_provider).transpose()
    }

    /// Saves a new provider.
    pub async fn create_provider(
        &self,
        p: &Provider,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Provider> {
        let mut w = Write::on_page(self, &p.page_id, actor, now).await?;
        w.touch(Touched::Nothing);
        w.tx.execute(
            "INSERT INTO metrics_providers (id, page_id, type, disabled, metric_base_uri, credentials, settings, \
               created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
            args![
                &p.id, &p.page_id, p.kind.as_str(), p.disabled, p.metric_base_uri.as_deref(),
                credentials_json(p)?, settings_json(p), now
            ],
        )
        .await?;
        w.audit(
            Some(&p.page_id),
            "metrics_provider.create",
            "metrics_provider",
            &p.id,
            json!({"type": [null, p.kind.as_str()], "metric_base_uri": [null, p.metric_base_uri]}),
        )
        .await?;
        w.commit().await?;
        self.get_provider(&p.page_id, &p.id)
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// Saves a changed provider (`p` as `Provider::apply` left it).
    pub async fn update_provider(
        &self,
        p: &Provider,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Provider> {
        let before = self
            .get_provider(&p.page_id, &p.id)
            .await?
            .ok_or(StoreError::NotFound)?;
        let mut w = Write::on_page(self, &p.page_id, actor, now).await?;
        w.touch(Touched::Nothing);
        let n = w
            .tx
            .execute(
                "UPDATE metrics_providers SET disabled = $3, metric_base_uri = $4, credentials = $5, settings = $6, \
                 updated_at = $7 WHERE id = $1 AND page_id = $2",
                args![
                    &p.id, &p.page_id, p.disabled, p.metric_base_uri.as_deref(), credentials_json(p)?,
                    settings_json(p), now
                ],
            )
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        let mut changes = crate::write::diff(&[
            ("disabled", json!(before.disabled), json!(p.disabled)),
            (
                "metric_base_uri",
                json!(before.metric_base_uri),
                json!(p.metric_base_uri),
            ),
        ]);
        if before.credentials != p.credentials {
            changes["credentials"] = json!(["[redacted]", "[redacted]"]);
        }
        w.audit(
            Some(&p.page_id),
            "metrics_provider.update",
            "metrics_provider",
            &p.id,
            changes,
        )
        .await?;
        w.commit().await?;
        self.get_provider(&p.page_id, &p.id)
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// Deletes a provider and its metrics; returns it as it was.
    pub async fn delete_provider(
        &self,
        page_id: &PageId,
        id: &str,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Provider> {
        let p = self
            .get_provider(page_id, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        let mut w = Write::on_page(self, page_id, actor, now).await?;
        w.touch(Touched::Metrics);
        // Children first: SQLite enforces the cascade only with foreign keys on.
        w.tx.execute(
            "DELETE FROM metric_points WHERE metric_id IN (SELECT id FROM metrics WHERE provider_id = $1)",
            args![id],
        )
        .await?;
        w.tx.execute(
            "DELETE FROM metric_rollups WHERE metric_id IN (SELECT id FROM metrics WHERE provider_id = $1)",
            args![id],
        )
        .await?;
        w.tx.execute("DELETE FROM metrics WHERE provider_id = $1", args![id])
            .await?;
        w.tx.execute(
            "DELETE FROM metrics_providers WHERE id = $1 AND page_id = $2",
            args![id, page_id],
        )
        .await?;
        w.audit(
            Some(page_id),
            "metrics_provider.delete",
            "metrics_provider",
            id,
            json!({"type": [p.kind.as_str(), null]}),
        )
        .await?;
        w.commit().await?;
        Ok(p)
    }

    /// A page's metrics in display order; only one provider's with `provider_id`.
    pub async fn list_metrics(
        &self,
        page_id: &PageId,
        provider_id: Option<&str>,
    ) -> Result<Vec<Metric>> {
        let rows: Vec<MetricRow> = match provider_id {
            Some(pid) => {
                self.db
                    .read(
                        concat!("SELECT ", cols!(metrics), " FROM metrics WHERE page_id = $1 AND provider_id = $2 ORDER BY position, created_at, id"),
                        args![page_id, pid],
                    )
                    .await?
            }
            None => {
                self.db
                    .read(
                        concat!("SELECT ", cols!(metrics), " FROM metrics WHERE page_id = $1 ORDER BY position, created_at, id"),
                        args![page_id],
                    )
                    .await?
            }
        };
        Ok(rows.into_iter().map(MetricRow::into_metric).collect())
    }

    /// One metric of a page.
    pub async fn get_metric(&self, page_id: &PageId, id: &str) -> Result<Option<Metric>> {
        let row: Option<MetricRow> = self
            .db
            .read_opt(
                concat!(
                    "SELECT ",
                    cols!(metrics),
                    " FROM metrics WHERE id = $1 AND page_id = $2"
                ),
                args![id, page_id],
            )
            .await?;
        Ok(row.map(MetricRow::into_metric))
    }

    /// Saves a new metric at the end of the page's list.
    pub async fn create_metric(
        &self,
        m: &Metric,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Metric> {
        let mut w = Write::on_page(self, &m.page_id, actor, now).await?;
        w.touch(Touched::Metrics);
        w.tx.execute(
            "INSERT INTO metrics (id, page_id, provider_id, name, metric_identifier, transform, suffix, y_axis_min, \
               y_axis_max, y_axis_hidden, display, decimal_places, tooltip_description, position, backfill_from, \
               created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
               (SELECT COALESCE(MAX(position), 0) + 1 FROM metrics WHERE page_id = $2), $14, $15, $15)",
            args![
                &m.id, &m.page_id, &m.provider_id, &m.name, &m.metric_identifier, m.transform.as_str(),
                &m.suffix, m.y_axis_min, m.y_axis_max, m.y_axis_hidden, m.display, m.decimal_places,
                &m.tooltip_description, m.backfill_from.timestamp(), now
            ],
        )
        .await?;
        w.audit(
            Some(&m.page_id),
            "metric.create",
            "metric",
            &m.id,
            json!({"name": [null, m.name]}),
        )
        .await?;
        w.commit().await?;
        self.get_metric(&m.page_id, &m.id)
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// Saves a changed metric's definition (`m` as `Metric::apply` left it).
    pub async fn update_metric(
        &self,
        m: &Metric,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Metric> {
        let before = self
            .get_metric(&m.page_id, &m.id)
            .await?
            .ok_or(StoreError::NotFound)?;
        let mut w = Write::on_page(self, &m.page_id, actor, now).await?;
        w.touch(Touched::Metrics);
        let n = w
            .tx
            .execute(
                "UPDATE metrics SET name = $3, metric_identifier = $4, transform = $5, suffix = $6, y_axis_min = $7, \
                 y_axis_max = $8, y_axis_hidden = $9, display = $10, decimal_places = $11, tooltip_description = $12, \
                 last_error = CASE WHEN metric_identifier = $4 THEN last_error ELSE NULL END, \
                 updated_at = $13 WHERE id = $1 AND page_id = $2",
                args![
                    &m.id, &m.page_id, &m.name, &m.metric_identifier, m.transform.as_str(), &m.suffix,
                    m.y_axis_min, m.y_axis_max, m.y_axis_hidden, m.display, m.decimal_places,
                    &m.tooltip_description, now
                ],
            )
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        w.audit(
            Some(&m.page_id),
            "metric.update",
            "metric",
            &m.id,
            crate::write::diff(&[
                ("name", json!(before.name), json!(m.name)),
                (
                    "metric_identifier",
                    json!(before.metric_identifier),
                    json!(m.metric_identifier),
                ),
                ("display", json!(before.display), json!(m.display)),
                (
                    "transform",
                    json!(before.transform.as_str()),
                    json!(m.transform.as_str()),
                ),
            ]),
        )
        .await?;
        w.commit().await?;
        self.get_metric(&m.page_id, &m.id)
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// Deletes a metric and its points; returns it as it was.
    pub async fn delete_metric(
        &self,
        page_id: &PageId,
        id: &str,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Metric> {
        let m = self
            .get_metric(page_id, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        let mut w = Write::on_page(self, page_id, actor, now).await?;
        w.touch(Touched::Metrics);
        w.tx.execute("DELETE FROM metric_points WHERE metric_id = $1", args![id])
            .await?;
        w.tx.execute("DELETE FROM metric_rollups WHERE metric_id = $1", args![id])
            .await?;
        w.tx.execute(
            "DELETE FROM metrics WHERE id = $1 AND page_id = $2",
            args![id, page_id],
        )
        .await?;
        w.audit(
            Some(page_id),
            "metric.delete",
            "metric",
            id,
            json!({"name": [m.name, null]}),
        )
        .await?;
        w.commit().await?;
        Ok(m)
    }
}
