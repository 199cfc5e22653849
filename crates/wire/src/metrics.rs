//! System metrics (v1): the metrics provider and metric objects, field for field as
//! Statuspage's (STATUSPAGE-API.md §2.3), plus herald's extensions (`last_error`,
//! `last_error_at`, `transform`, `account_id`). A provider's credentials are never part of
//! its object.

use herald_domain::metric::{Metric, Provider, ProviderKind, Transform};
use herald_domain::time::PageZone;
use serde::Serialize;
use utoipa::ToSchema;

/// A metrics provider (v1). Credentials (`api_key`, `application_key`) are write-only.
#[derive(Debug, Serialize, ToSchema)]
pub struct MetricsProviderV1 {
    pub id: String,
    /// `Self`, `Prometheus`, `Datadog` or `NewRelic`.
    #[serde(rename = "type")]
    pub kind: String,
    pub disabled: bool,
    pub metric_base_uri: Option<String>,
    pub last_revalidated_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub page_id: String,
    /// New Relic account id (herald extension).
    pub account_id: Option<i64>,
}

impl MetricsProviderV1 {
    /// The v1 view of `p`.
    pub fn new(p: &Provider, z: PageZone) -> Self {
        Self {
            id: p.id.clone(),
            kind: p.kind.as_str().to_owned(),
            disabled: p.disabled,
            metric_base_uri: p.metric_base_uri.clone(),
            last_revalidated_at: z.format_opt(p.last_revalidated_at),
            created_at: z.format(p.created_at),
            updated_at: z.format(p.updated_at),
            page_id: p.page_id.to_string(),
            account_id: p.account_id,
        }
    }
}

/// A metric (v1).
#[derive(Debug, Serialize, ToSchema)]
pub struct MetricV1 {
    pub id: String,
    pub metrics_provider_id: String,
    pub metric_identifier: String,
    pub name: String,
    pub display: bool,
    pub tooltip_description: String,
    /// Whether the provider's history (28 days before the metric was created) is in.
    pub backfilled: bool,
    pub y_axis_min: Option<f64>,
    pub y_axis_max: Option<f64>,
    pub y_axis_hidden: bool,
    pub suffix: String,
    pub decimal_places: i64,
    /// The newest bucket holding a value.
    pub most_recent_data_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// When herald last polled the provider successfully (pulled metrics).
    pub last_fetched_at: Option<String>,
    pub backfill_percentage: f64,
    pub reference_name: String,
    pub transform: Transform,
    /// The provider's last error for this metric, cleared by the next successful poll.
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
}

impl MetricV1 {
    /// The v1 view of `m`, a metric of a `kind` provider.
    pub fn new(m: &Metric, kind: ProviderKind, z: PageZone) -> Self {
        let pct = m.backfill_percentage(kind);
        Self {
            id: m.id.clone(),
            metrics_provider_id: m.provider_id.clone(),
            metric_identifier: m.metric_identifier.clone(),
            name: m.name.clone(),
            display: m.display,
            tooltip_description: m.tooltip_description.clone(),
            backfilled: pct >= 100.0,
            y_axis_min: m.y_axis_min,
            y_axis_max: m.y_axis_max,
            y_axis_hidden: m.y_axis_hidden,
            suffix: m.suffix.clone(),
            decimal_places: m.decimal_places,
            most_recent_data_at: z.format_opt(m.most_recent_data_at),
            created_at: z.format(m.created_at),
            updated_at: z.format(m.updated_at),
            last_fetched_at: z.format_opt(m.last_fetched_at),
            backfill_percentage: pct,
            reference_name: m.name.clone(),
            transform: m.transform,
            last_error: m.last_error.clone(),
            last_error_at: z.format_opt(m.last_error_at),
        }
    }
}
