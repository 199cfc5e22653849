//! System metrics: providers (where values come from), metrics (what a chart shows) and
//! their rules (STATUSPAGE-API.md §2.3 and §5).
//!
//! A provider is `Self` (values pushed through the API) or one herald polls: `Prometheus`
//! (herald's own: `metric_base_uri` is the server's base URL, the metric's identifier a
//! PromQL expression), `Datadog` (a metric query) or `NewRelic` (an NRQL query). Provider
//! credentials are [`Secret`]s: their `Debug` is redacted and no response carries them.
//! Points live in 30 s buckets ([`points`]).

pub mod points;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{optional_text, required_name};
use crate::id::PageId;
use crate::{Invalid, Result};

/// How far back points may be written, and how far back a new pulled metric is filled.
pub const BACKFILL: TimeDelta = TimeDelta::days(28);

/// Where a provider's values come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProviderKind {
    /// Pushed through the API (`POST .../metrics/{id}/data`).
    SelfPush,
    /// Pulled from a Prometheus server with `query_range`.
    Prometheus,
    /// Pulled from Datadog's v1 query API.
    Datadog,
    /// Pulled from New Relic's NerdGraph with NRQL.
    NewRelic,
}

impl ProviderKind {
    /// The Statuspage name (`Self`, `Datadog`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SelfPush => "Self",
            Self::Prometheus => "Prometheus",
            Self::Datadog => "Datadog",
            Self::NewRelic => "NewRelic",
        }
    }

    /// Parses a Statuspage type name; `Pingdom` and `Librato` are named as unsupported.
    pub fn parse(field: &str, s: &str) -> Result<Self> {
        Ok(match s {
            "Self" => Self::SelfPush,
            "Prometheus" => Self::Prometheus,
            "Datadog" => Self::Datadog,
            "NewRelic" => Self::NewRelic,
            "Pingdom" | "Librato" => {
                return Err(Invalid::new(
                    field,
                    format!(
                        "{field}: {s} is not supported by herald; use Self, Prometheus, Datadog or NewRelic"
                    ),
                ));
            }
            _ => {
                return Err(Invalid::new(
                    field,
                    format!("{field} must be one of Self, Prometheus, Datadog, NewRelic"),
                ));
            }
        })
    }

    /// Whether herald polls this kind.
    pub fn is_pulled(self) -> bool {
        self != Self::SelfPush
    }
}

/// A credential: kept, used, never shown (`Debug` prints `[redacted]`).
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A provider's secrets, stored as one JSON object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Credentials {
    pub api_key: Option<Secret>,
    pub application_key: Option<Secret>,
}

/// A metrics provider.
#[derive(Debug, Clone, PartialEq)]
pub struct Provider {
    pub id: String,
    pub page_id: PageId,
    pub kind: ProviderKind,
    pub disabled: bool,
    /// Prometheus: the server's base URL; Datadog, New Relic: their API's base URL.
    pub metric_base_uri: Option<String>,
    pub credentials: Credentials,
    /// New Relic: the account NRQL queries run in (herald extension).
    pub account_id: Option<i64>,
    pub last_revalidated_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A provider as clients send it, inside `{"metrics_provider": {...}}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct ProviderInput {
    /// `Self`, `Prometheus`, `Datadog` or `NewRelic`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub disabled: Option<bool>,
    pub metric_base_uri: Option<String>,
    /// Datadog, New Relic (never returned).
    pub api_key: Option<String>,
    /// Datadog (never returned).
    pub application_key: Option<String>,
    /// New Relic account id (herald extension).
    pub account_id: Option<i64>,
}

fn nonblank(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|s| !s.is_empty())
}

impl Provider {
    /// Whether `other` has the fields an import writes as this one has them: all but the
    /// credentials (the source never sends them) and the revalidation time.
    pub fn same_imported(&self, other: &Provider) -> bool {
        self.kind == other.kind
            && self.disabled == other.disabled
            && self.metric_base_uri == other.metric_base_uri
            && self.account_id == other.account_id
            && self.created_at == other.created_at
            && self.updated_at == other.updated_at
    }

    /// Validates a new provider. The base URI's reachability (egress policy) is checked by
    /// the caller, which owns the network rules.
    pub fn parse(page_id: &PageId, input: &ProviderInput, now: DateTime<Utc>) -> Result<Self> {
        let kind = ProviderKind::parse(
            "metrics_provider.type",
            nonblank(input.kind.as_deref()).unwrap_or(""),
        )?;
        let mut p = Provider {
            id: crate::id::generate(),
            page_id: page_id.to_owned(),
            kind,
            disabled: false,
            metric_base_uri: None,
            credentials: Credentials::default(),
            account_id: None,
            last_revalidated_at: None,
            created_at: now,
            updated_at: now,
        };
        p.apply(input)?;
        Ok(p)
    }

    /// Applies a patch (`type` may not change) and checks the fields the kind needs.
    pub fn apply(&mut self, input: &ProviderInput) -> Result<()> {
        if let Some(k) = nonblank(input.kind.as_deref())
            && ProviderKind::parse("metrics_provider.type", k)? != self.kind
        {
            return Err(Invalid::new(
                "metrics_provider.type",
                "metrics_provider.type cannot change; create a new provider",
            ));
        }
        if let Some(d) = input.disabled {
            self.disabled = d;
        }
        if input.metric_base_uri.is_some() {
            self.metric_base_uri = optional_text(
                "metrics_provider.metric_base_uri",
                input.metric_base_uri.as_deref(),
                2048,
            )?;
        }
        let secret = |field: &str, v: Option<&str>| -> Result<Option<Secret>> {
            Ok(optional_text(field, v, 512)?.map(Secret))
        };
        if input.api_key.is_some() {
            self.credentials.api_key =
                secret("metrics_provider.api_key", input.api_key.as_deref())?;
        }
        if input.application_key.is_some() {
            self.credentials.application_key = secret(
                "metrics_provider.application_key",
                input.application_key.as_deref(),
            )?;
        }
        if input.account_id.is_some() {
            self.account_id = input.account_id;
        }
        self.check()
    }

    fn check(&self) -> Result<()> {
        let need = |field: &str, ok: bool| {
            if ok {
                Ok(())
            } else {
                Err(Invalid::new(
                    format!("metrics_provider.{field}"),
                    format!(
                        "metrics_provider.{field} can't be blank for a {} provider",
                        self.kind.as_str()
                    ),
                ))
            }
        };
        match self.kind {
            ProviderKind::SelfPush => Ok(()),
            ProviderKind::Prometheus => need("metric_base_uri", self.metric_base_uri.is_some()),
            ProviderKind::Datadog => {
                need("api_key", self.credentials.api_key.is_some())?;
                need(
                    "application_key",
                    self.credentials.application_key.is_some(),
                )
            }
            ProviderKind::NewRelic => {
                need("api_key", self.credentials.api_key.is_some())?;
                need("account_id", self.account_id.is_some_and(|a| a > 0))
            }
        }
    }

    /// The base URL herald polls: the configured one, or the provider's public API.
    pub fn base_url(&self) -> Option<String> {
        let default = match self.kind {
            ProviderKind::Datadog => Some("https://api.datadoghq.com"),
            ProviderKind::NewRelic => Some("https://api.newrelic.com"),
            _ => None,
        };
        self.metric_base_uri
            .clone()
            .or(default.map(str::to_owned))
            .map(|u| u.trim_end_matches('/').to_owned())
    }
}

/// How a chart folds the points of a wider bucket into one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Transform {
    #[default]
    Average,
    Count,
    Max,
    Min,
    Sum,
}

impl Transform {
    /// The Statuspage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Average => "average",
            Self::Count => "count",
            Self::Max => "max",
            Self::Min => "min",
            Self::Sum => "sum",
        }
    }

    /// Parses a stored name (unknown: average).
    pub fn from_stored(s: &str) -> Self {
        match s {
            "count" => Self::Count,
            "max" => Self::Max,
            "min" => Self::Min,
            "sum" => Self::Sum,
            _ => Self::Average,
        }
    }
}

/// A metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub id: String,
    pub page_id: PageId,
    pub provider_id: String,
    pub name: String,
    /// PromQL, a Datadog query or NRQL; empty for pushed metrics.
    pub metric_identifier: String,
    pub transform: Transform,
    pub suffix: String,
    pub y_axis_min: Option<f64>,
    pub y_axis_max: Option<f64>,
    pub y_axis_hidden: bool,
    /// Shown on the public page.
    pub display: bool,
    pub decimal_places: i64,
    pub tooltip_description: String,
    pub position: i64,
    /// Where the first poll of a pulled metric starts (created_at - 28 days).
    pub backfill_from: DateTime<Utc>,
    /// The newest bucket a pulled metric holds.
    pub watermark: Option<DateTime<Utc>>,
    /// The end of the range a pulled metric's polls have asked for so far.
    pub fetched_to: Option<DateTime<Utc>>,
    pub most_recent_data_at: Option<DateTime<Utc>>,
    pub last_fetched_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    /// Grows with every write of points.
    pub data_rev: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A metric as clients send it, inside `{"metric": {...}}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct MetricInput {
    pub name: Option<String>,
    pub metric_identifier: Option<String>,
    pub transform: Option<Transform>,
    pub suffix: Option<String>,
    pub y_axis_min: Option<f64>,
    pub y_axis_max: Option<f64>,
    pub y_axis_hidden: Option<bool>,
    pub display: Option<bool>,
    pub decimal_places: Option<i64>,
    pub tooltip_description: Option<String>,
}

impl Metric {
    /// Whether `other` has the fields an import writes as this one has them: its
    /// definition, not its polling state or points.
    pub fn same_imported(&self, other: &Metric) -> bool {
        self.provider_id == other.provider_id
            && self.name == other.name
            && self.metric_identifier == other.metric_identifier
            && self.transform == other.transform
            && self.suffix == other.suffix
            && self.y_axis_min == other.y_axis_min
            && self.y_axis_max == other.y_axis_max
            && self.y_axis_hidden == other.y_axis_hidden
            && self.display == other.display
            && self.decimal_places == other.decimal_places
            && self.tooltip_description == other.tooltip_description
            && self.position == other.position
            && self.created_at == other.created_at
            && self.updated_at == other.updated_at
    }

    /// Validates a new metric of `provider`.
    pub fn parse(provider: &Provider, input: &MetricInput, now: DateTime<Utc>) -> Result<Self> {
        let mut m = Metric {
            id: crate::id::generate(),
            page_id: provider.page_id.clone(),
            provider_id: provider.id.clone(),
            name: String::new(),
            metric_identifier: String::new(),
            transform: Transform::Average,
            suffix: String::new(),
            y_axis_min: None,
            y_axis_max: None,
            y_axis_hidden: false,
            display: true,
            decimal_places: 0,
            tooltip_description: String::new(),
            position: 0,
            backfill_from: points::bucket_of(now - BACKFILL),
            watermark: None,
            fetched_to: None,
            most_recent_data_at: None,
            last_fetched_at: None,
            last_error: None,
            last_error_at: None,
            data_rev: 0,
            created_at: now,
            updated_at: now,
        };
        if input.name.is_none() {
            return Err(Invalid::new("metric.name", "metric.name can't be blank"));
        }
        m.apply(provider.kind, input)?;
        Ok(m)
    }

    /// Applies a patch: only the fields sent change.
    pub fn apply(&mut self, kind: ProviderKind, input: &MetricInput) -> Result<()> {
        if let Some(n) = &input.name {
            self.name = required_name("metric.name", n, 255)?;
        }
        if let Some(q) = &input.metric_identifier {
            self.metric_identifier =
                optional_text("metric.metric_identifier", Some(q), 4000)?.unwrap_or_default();
        }
        if kind.is_pulled() && self.metric_identifier.is_empty() {
            return Err(Invalid::new(
                "metric.metric_identifier",
                format!(
                    "metric.metric_identifier can't be blank for a {} metric (the query herald runs)",
                    kind.as_str()
                ),
            ));
        }
        if let Some(t) = input.transform {
            self.transform = t;
        }
        if let Some(s) = &input.suffix {
            self.suffix = optional_text("metric.suffix", Some(s), 40)?.unwrap_or_default();
        }
        for (field, v) in [
            ("y_axis_min", input.y_axis_min),
            ("y_axis_max", input.y_axis_max),
        ] {
            if v.is_some_and(|v| !v.is_finite()) {
                return Err(Invalid::new(
                    format!("metric.{field}"),
                    format!("metric.{field} must be a finite number"),
                ));
            }
        }
        if input.y_axis_min.is_some() {
            self.y_axis_min = input.y_axis_min;
        }
        if input.y_axis_max.is_some() {
            self.y_axis_max = input.y_axis_max;
        }
        if let (Some(lo), Some(hi)) = (self.y_axis_min, self.y_axis_max)
            && lo >= hi
        {
            return Err(Invalid::new(
                "metric.y_axis_max",
                "metric.y_axis_max must be greater than metric.y_axis_min",
            ));
        }
        if let Some(h) = input.y_axis_hidden {
            self.y_axis_hidden = h;
        }
        if let Some(d) = input.display {
            self.display = d;
        }
        if let Some(d) = input.decimal_places {
            if !(0..=6).contains(&d) {
                return Err(Invalid::new(
                    "metric.decimal_places",
                    "metric.decimal_places must be between 0 and 6",
                ));
            }
            self.decimal_places = d;
        }
        if let Some(t) = &input.tooltip_description {
            self.tooltip_description =
                optional_text("metric.tooltip_description", Some(t), 1000)?.unwrap_or_default();
        }
        Ok(())
    }

    /// How much of the initial backfill window (`backfill_from` to `created_at`) a pulled
    /// metric's polls have covered, in percent; a pushed metric owes no backfill (100).
    pub fn backfill_percentage(&self, kind: ProviderKind) -> f64 {
        if !kind.is_pulled() {
            return 100.0;
        }
        let Some(w) = self.fetched_to else {
            return 0.0;
        };
        let total = (points::bucket_of(self.created_at) - self.backfill_from)
            .num_seconds()
            .max(1) as f64;
        let done = (w - self.backfill_from).num_seconds() as f64;
        (done / total * 100.0).clamp(0.0, 100.0).floor()
    }

    /// Where the next poll starts: the newest bucket held, else where the polls got to,
    /// else the start of the backfill; never more than 28 days before `now`.
    pub fn poll_from(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let from = self
            .watermark
            .or(self.fetched_to)
            .unwrap_or(self.backfill_from);
        from.max(points::bucket_of(
            now - BACKFILL + TimeDelta::seconds(points::BUCKET_SECS),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider(kind: &str) -> ProviderInput {
        ProviderInput {
            kind: Some(kind.into()),
            ..Default::default()
        }
    }

    #[test]
    fn each_kind_needs_its_fields_and_secrets_never_print() {
        let now = crate::clock::from_ms(0);
        assert!(Provider::parse(&PageId::from("p"), &provider("Self"), now).is_ok());
        let e = Provider::parse(&PageId::from("p"), &provider("Prometheus"), now).unwrap_err();
        assert_eq!(e.field, "metrics_provider.metric_base_uri");
        let e = Provider::parse(&PageId::from("p"), &provider("Pingdom"), now).unwrap_err();
        assert!(e.message.contains("not supported"), "{e}");
        let mut dd = provider("Datadog");
        dd.api_key = Some("sekrit-api".into());
        dd.application_key = Some("sekrit-app".into());
        let p = Provider::parse(&PageId::from("p"), &dd, now).unwrap();
        assert!(!format!("{p:?}").contains("sekrit"));
    }

    #[test]
    fn a_pulled_metric_needs_a_query() {
        let now = crate::clock::from_ms(0);
        let mut i = provider("Prometheus");
        i.metric_base_uri = Some("http://prom:9090".into());
        let p = Provider::parse(&PageId::from("p"), &i, now).unwrap();
        let e = Metric::parse(
            &p,
            &MetricInput {
                name: Some("Latency".into()),
                ..Default::default()
            },
            now,
        )
        .unwrap_err();
        assert_eq!(e.field, "metric.metric_identifier");
    }
}
