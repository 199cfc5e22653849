//! `GET /v1/pages/{page_id}/components/{component_id}/uptime` and the group equivalent:
//! Statuspage's uptime resource, computed by herald's uptime rules (`domain::uptime`: each
//! status weighted, maintenance left out, nothing counted before the start date) over the
//! range `start`..`end` (`domain::uptime::range`: at most six months, 90 days by default).
//! A group's figures are the sum of its components'.

use axum::Json;
use axum::extract::State;
use herald_domain::component::Component;
use herald_domain::page::Page;
use herald_domain::uptime::range::parse_range;
use herald_domain::uptime::{Figures, StatusChange, Timeline};
use herald_store::IncidentQuery;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::{IntoParams, ToSchema};

use super::ErrorBody;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery, ReadPage};
use crate::state::AppState;

/// The range of an uptime request.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UptimeParams {
    /// First day: `YYYY`, `YYYY-MM` or `YYYY-MM-DD` (default: 90 days ago, or the start date).
    pub start: Option<String>,
    /// Last day, in the same forms (default: today). At most six months after `start`.
    pub end: Option<String>,
}

/// An incident that touched the component in the range.
#[derive(Debug, Serialize, ToSchema)]
pub struct RelatedEvent {
    pub id: String,
}

/// Uptime of a component or group over a range (Statuspage's shape).
#[derive(Debug, Serialize, ToSchema)]
pub struct UptimeV1 {
    pub id: String,
    pub name: String,
    /// `YYYY-MM-DD`, in the page's time zone.
    pub range_start: String,
    /// `YYYY-MM-DD`, in the page's time zone.
    pub range_end: String,
    /// From 0 to 100, two decimals.
    pub uptime_percentage: f64,
    /// Seconds in major outage.
    pub major_outage: i64,
    /// Seconds in partial outage.
    pub partial_outage: i64,
    pub warnings: Vec<String>,
    pub related_events: Vec<RelatedEvent>,
}

async fn uptime(
    app: &AppState,
    page: &Page,
    target: &Component,
    members: &[&Component],
    params: &UptimeParams,
) -> ApiResult<UptimeV1> {
    let now = app.now();
    let zone = page.zone;
    let start_date = members.iter().filter_map(|c| c.start_date).min();
    let range = parse_range(
        params.start.as_deref(),
        params.end.as_deref(),
        start_date,
        zone.date(now),
    )
    .map_err(|e| ApiError::BadRequest(e.message))?;
    let from = zone.day_start(range.first);
    let to = zone.day_bounds(range.last).1.min(now);
    let log = app.store().status_log(&page.id, from).await?;
    let mut history: HashMap<&str, Vec<StatusChange>> = HashMap::new();
    for e in &log {
        history
            .entry(e.component_id.as_str())
            .or_default()
            .push(StatusChange {
                at: e.at,
                status: e.status,
            });
    }
    let figures = Figures::sum(
        members
            .iter()
            .map(|c| {
                let h = history.get(c.id.as_str()).map_or(&[][..], Vec::as_slice);
                Timeline::new(h, c.start_date, zone, now).figures(from, to)
            })
            .collect::<Vec<_>>()
            .iter(),
    );
    let weights = page
        .settings
        .uptime_weights
        .unwrap_or(app.config().uptime_weights);
    let mut warnings = range.warnings;
    let uptime_percentage = match figures.uptime(&weights) {
        Some(u) => (u * 10_000.0).round() / 100.0,
        None => {
            warnings.push("no status is known in this range: uptime is shown as 100".to_owned());
            100.0
        }
    };
    let ids: Vec<&str> = members.iter().map(|c| c.id.as_str()).collect();
    let related_events = app
        .store()
        .list_incidents(
            &page.id,
            &IncidentQuery {
                limit: 1000,
                ..IncidentQuery::default()
            },
        )
        .await?
        .into_iter()
        .filter(|i| i.component_ids.iter().any(|c| ids.contains(&c.as_str())))
        .filter(|i| i.started_at < to && i.resolved_at.is_none_or(|r| r >= from))
        .map(|i| RelatedEvent { id: i.id })
        .collect();
    Ok(UptimeV1 {
        id: target.id.clone(),
        name: target.name.clone(),
        range_start: range.first.to_string(),
        range_end: range.last.to_string(),
        uptime_percentage,
        major_outage: figures.major_ms / 1000,
        partial_outage: figures.partial_ms / 1000,
        warnings,
        related_events,
    })
}

/// A component's uptime over a range.
#[utoipa::path(get, path = "/v1/pages/{page_id}/components/{component_id}/uptime", tag = "components",
    params(("page_id" = String, Path), ("component_id" = String, Path), UptimeParams),
    responses((status = 200, body = UptimeV1), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn component_uptime(
    State(app): State<AppState>,
    ReadPage { page, .. }: ReadPage,
    ApiPath((_, component_id)): ApiPath<(String, String)>,
    ApiQuery(params): ApiQuery<UptimeParams>,
) -> ApiResult<Json<UptimeV1>> {
    let all = app.store().list_components(&page.id).await?;
    let c = all
        .iter()
        .find(|c| c.id == component_id && !c.is_group)
        .ok_or(ApiError::NotFound)?;
    Ok(Json(uptime(&app, &page, c, &[c], &params).await?))
}

/// A component group's uptime over a range: the sum of its components' figures.
#[utoipa::path(get, path = "/v1/pages/{page_id}/component-groups/{group_id}/uptime", tag = "component groups",
    params(("page_id" = String, Path), ("group_id" = String, Path), UptimeParams),
    responses((status = 200, body = UptimeV1), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn group_uptime(
    State(app): State<AppState>,
    ReadPage { page, .. }: ReadPage,
    ApiPath((_, group_id)): ApiPath<(String, String)>,
    ApiQuery(params): ApiQuery<UptimeParams>,
) -> ApiResult<Json<UptimeV1>> {
    let all = app.store().list_components(&page.id).await?;
    let g = all
        .iter()
        .find(|c| c.id == group_id && c.is_group)
        .ok_or(ApiError::NotFound)?;
    let members: Vec<&Component> = all
        .iter()
        .filter(|c| c.group_id.as_deref() == Some(g.id.as_str()))
        .collect();
    Ok(Json(uptime(&app, &page, g, &members, &params).await?))
}
