//! Metric points: `POST /v1/pages/{page_id}/metrics/{metric_id}/data` (one point, 201),
//! `POST /v1/pages/{page_id}/metrics/data` (a batch, 202) and
//! `DELETE /v1/pages/{page_id}/metrics/{metric_id}/data` (reset).
//!
//! Every point is checked before anything is written (`points::parse_point`: a number, not
//! NaN or infinite, not in a future bucket, at most 28 days old); a refusal names the point
//! (`data.<metric_id>[3].value`) and writes nothing. The charts follow within a few seconds
//! (`AppState::metrics_changed`): points never wait for a page render.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use herald_domain::metric::points::{PointInput, last_write_wins, parse_point};
use herald_wire::metrics::MetricV1;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

use super::metrics::{kind_of, metric_on_page};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiBody, ApiPath, WritePage};
use crate::state::AppState;

/// Most points one request may carry.
pub const MAX_POINTS: usize = 100_000;

/// `{"data": {"timestamp": 1741082400, "value": 123.4}}`
#[derive(Debug, Deserialize, ToSchema)]
pub struct PointEnvelope {
    pub data: PointInput,
}

/// A point as stored: its timestamp cast to its 30 s bucket.
#[derive(Debug, Serialize, ToSchema)]
pub struct PointV1 {
    pub timestamp: i64,
    pub value: f64,
}

/// `{"data": {...}}` answered for one point.
#[derive(Debug, Serialize, ToSchema)]
pub struct PointAnswer {
    pub data: PointV1,
}

/// `{"data": {"<metric_id>": [{"timestamp": ..., "value": ...}, ...], ...}}`
#[derive(Debug, Deserialize, ToSchema)]
pub struct BatchEnvelope {
    pub data: BTreeMap<String, Vec<PointInput>>,
}

/// The batch as stored, echoed.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchAnswer {
    pub data: BTreeMap<String, Vec<PointV1>>,
}

/// Adds one point to a metric.
#[utoipa::path(post, path = "/v1/pages/{page_id}/metrics/{metric_id}/data", tag = "metrics",
    params(("page_id" = String, Path), ("metric_id" = String, Path)), request_body = PointEnvelope,
    responses((status = 201, body = PointAnswer)))]
pub async fn add_point(
    State(app): State<AppState>,
    WritePage { page, caller }: WritePage,
    ApiPath((_, id)): ApiPath<(String, String)>,
    ApiBody(body): ApiBody<PointEnvelope>,
) -> ApiResult<(StatusCode, Json<PointAnswer>)> {
    let now = app.now();
    metric_on_page(&app, page.id.as_str(), &id).await?;
    let p = parse_point("data", &body.data, now)?;
    app.store()
        .push_points(&page.id, &[(id, vec![p])], &caller.actor, now)
        .await?;
    app.metrics_changed(&page.id);
    Ok((
        StatusCode::CREATED,
        Json(PointAnswer {
            data: PointV1 {
                timestamp: p.bucket,
                value: p.value,
            },
        }),
    ))
}

/// Adds points to several metrics at once.
#[utoipa::path(post, path = "/v1/pages/{page_id}/metrics/data", tag = "metrics",
    params(("page_id" = String, Path)), request_body = BatchEnvelope,
    responses((status = 202, body = BatchAnswer)))]
pub async fn add_points(
    State(app): State<AppState>,
    WritePage { page, caller }: WritePage,
    ApiBody(body): ApiBody<BatchEnvelope>,
) -> ApiResult<(StatusCode, Json<BatchAnswer>)> {
    let now = app.now();
    let total: usize = body.data.values().map(Vec::len).sum();
    if total > MAX_POINTS {
        return Err(ApiError::Unprocessable {
            field: Some("data".into()),
            message: format!("data carries {total} points; at most {MAX_POINTS} per request"),
        });
    }
    if body.data.is_empty() {
        return Err(ApiError::Unprocessable {
            field: Some("data".into()),
            message: "data must name at least one metric".into(),
        });
    }
    let mut batches = Vec::with_capacity(body.data.len());
    let mut echo = BTreeMap::new();
    for (id, points) in &body.data {
        let parsed = points
            .iter()
            .enumerate()
            .map(|(k, p)| parse_point(&format!("data.{id}[{k}]"), p, now))
            .collect::<Result<Vec<_>, _>>()?;
        echo.insert(
            id.clone(),
            parsed
                .iter()
                .map(|p| PointV1 {
                    timestamp: p.bucket,
                    value: p.value,
                })
                .collect(),
        );
        batches.push((id.clone(), last_write_wins(&parsed)));
    }
    app.store()
        .push_points(&page.id, &batches, &caller.actor, now)
        .await?;
    app.metrics_changed(&page.id);
    Ok((StatusCode::ACCEPTED, Json(BatchAnswer { data: echo })))
}

/// Deletes every point of a metric; returns the metric.
#[utoipa::path(delete, path = "/v1/pages/{page_id}/metrics/{metric_id}/data", tag = "metrics",
    params(("page_id" = String, Path), ("metric_id" = String, Path)),
    responses((status = 200, body = MetricV1)))]
pub async fn reset_data(
    State(app): State<AppState>,
    WritePage { page, caller }: WritePage,
    ApiPath((_, id)): ApiPath<(String, String)>,
) -> ApiResult<Json<MetricV1>> {
    let m = app
        .store()
        .reset_metric_data(&page.id, &id, &caller.actor, app.now())
        .await?;
    let kind = kind_of(&app, &m).await?;
    app.metrics_changed(&page.id);
    Ok(Json(MetricV1::new(&m, kind, page.zone)))
}
