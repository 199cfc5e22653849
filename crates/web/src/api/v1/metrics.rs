//! `/v1/pages/{page_id}/metrics_providers` and `/v1/pages/{page_id}/metrics`: providers and
//! metrics CRUD (points are in `metric_data.rs`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use herald_domain::id::PageId;
use herald_domain::metric::{Metric, MetricInput, Provider, ProviderInput, ProviderKind};
use herald_wire::metrics::{MetricV1, MetricsProviderV1};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{ErrorBody, window};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiBody, ApiPath, ApiQuery, ListParams, ReadPage, WritePage};
use crate::state::AppState;

/// `{"metrics_provider": {...}}`
#[derive(Debug, Deserialize, ToSchema)]
pub struct ProviderEnvelope {
    pub metrics_provider: ProviderInput,
}

/// `{"metric": {...}}`
#[derive(Debug, Deserialize, ToSchema)]
pub struct MetricEnvelope {
    pub metric: MetricInput,
}

/// A pulled provider's base URL must pass the egress rules when it is saved (the default
/// public APIs of Datadog and New Relic are checked when polled).
async fn check_base(app: &AppState, p: &Provider) -> ApiResult<()> {
    if let (true, Some(url)) = (p.kind.is_pulled(), &p.metric_base_uri) {
        app.config()
            .egress
            .check_reachable(url)
            .await
            .map_err(|b| ApiError::Unprocessable {
                field: Some("metrics_provider.metric_base_uri".into()),
                message: format!("metrics_provider.metric_base_uri cannot be used: {b}"),
            })?;
    }
    Ok(())
}

async fn provider_of(app: &AppState, page_id: &str, id: &str) -> ApiResult<Provider> {
    app.store()
        .get_provider(&PageId::from(page_id), id)
        .await?
        .ok_or(ApiError::NotFound)
}

/// The metric, which must be on the page (else 404).
pub(super) async fn metric_on_page(app: &AppState, page_id: &str, id: &str) -> ApiResult<Metric> {
    app.store()
        .get_metric(&PageId::from(page_id), id)
        .await?
        .ok_or(ApiError::NotFound)
}

/// The kind of the metric's provider.
pub(super) async fn kind_of(app: &AppState, m: &Metric) -> ApiResult<ProviderKind> {
    Ok(provider_of(app, m.page_id.as_str(), &m.provider_id)
        .await?
        .kind)
}

/// The page's metrics providers.
#[utoipa::path(get, path = "/v1/pages/{page_id}/metrics_providers", tag = "metrics",
    params(("page_id" = String, Path), ListParams),
    responses((status = 200, body = [MetricsProviderV1])))]
pub async fn list_providers(
    State(app): State<AppState>,
    ReadPage { page, .. }: ReadPage,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Json<Vec<MetricsProviderV1>>> {
    let all = app.store().list_providers(&page.id).await?;
    let shown = all
        .iter()
        .map(|p| MetricsProviderV1::new(p, page.zone))
        .collect();
    Ok(Json(window(shown, p.window()?)))
}

/// Creates a metrics provider.
#[utoipa::path(post, path = "/v1/pages/{page_id}/metrics_providers", tag = "metrics",
    params(("page_id" = String, Path)), request_body = ProviderEnvelope,
    responses((status = 201, body = MetricsProviderV1), (status = 422, body = ErrorBody)))]
pub async fn create_provider(
    State(app): State<AppState>,
    WritePage { page, caller }: WritePage,
    ApiBody(body): ApiBody<ProviderEnvelope>,
) -> ApiResult<(StatusCode, Json<MetricsProviderV1>)> {
    let now = app.now();
    let p = Provider::parse(&page.id, &body.metrics_provider, now)?;
    check_base(&app, &p).await?;
    let p = app.store().create_provider(&p, &caller.actor, now).await?;
    Ok((
        StatusCode::CREATED,
        Json(MetricsProviderV1::new(&p, page.zone)),
    ))
}

/// One metrics provider.
#[utoipa::path(get, path = "/v1/pages/{page_id}/metrics_providers/{metrics_provider_id}", tag = "metrics",
    params(("page_id" = String, Path), ("metrics_provider_id" = String, Path)),
    responses((status = 200, body = MetricsProviderV1)))]
pub async fn get_provider(
    State(app): State<AppState>,
    ReadPage { page, .. }: ReadPage,
    ApiPath((_, id)): ApiPath<(String, String)>,
) -> ApiResult<Json<MetricsProviderV1>> {
    let p = provider_of(&app, page.id.as_str(), &id).await?;
    Ok(Json(MetricsProviderV1::new(&p, page.zone)))
}

/// Changes a metrics provider (its type stays).
#[utoipa::path(method(patch, put), path = "/v1/pages/{page_id}/metrics_providers/{metrics_provider_id}", tag = "metrics",
    params(("page_id" = String, Path), ("metrics_provider_id" = String, Path)), request_body = ProviderEnvelope,
    responses((status = 200, body = MetricsProviderV1)))]
pub async fn update_provider(
    State(app): State<AppState>,
    WritePage { page, caller }: WritePage,
    ApiPath((_, id)): ApiPath<(String, String)>,
    ApiBody(body): ApiBody<ProviderEnvelope>,
) -> ApiResult<Json<MetricsProviderV1>> {
    let mut p = provider_of(&app, page.id.as_str(), &id).await?;
    p.apply(&body.metrics_provider)?;
    check_base(&app, &p).await?;
    let p = app
        .store()
        .update_provider(&p, &caller.actor, app.now())
        .await?;
    Ok(Json(MetricsProviderV1::new(&p, page.zone)))
}

/// Deletes a metrics provider and its metrics; returns it as it was.
#[utoipa::path(delete, path = "/v1/pages/{page_id}/metrics_providers/{metrics_provider_id}", tag = "metrics",
    params(("page_id" = String, Path), ("metrics_provider_id" = String, Path)),
    responses((status = 200, body = MetricsProviderV1)))]
pub async fn delete_provider(
    State(app): State<AppState>,
    WritePage { page, caller }: WritePage,
    ApiPath((_, id)): ApiPath<(String, String)>,
) -> ApiResult<Json<MetricsProviderV1>> {
    let p = app
        .store()
        .delete_provider(&page.id, &id, &caller.actor, app.now())
        .await?;
    app.page_changed(&page.id).await;
    Ok(Json(MetricsProviderV1::new(&p, page.zone)))
}

/// One provider's metrics.
#[utoipa::path(get, path = "/v1/pages/{page_id}/metrics_providers/{metrics_provider_id}/metrics", tag = "metrics",
    params(("page_id" = String, Path), ("metrics_provider_id" = String, Path), ListParams),
    responses((status = 200, body = [MetricV1])))]
pub async fn list_provider_metrics(
    State(app): State<AppState>,
    ReadPage { page, .. }: ReadPage,
    ApiPath((_, id)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult<Json<Vec<MetricV1>>> {
    let p = provider_of(&app, page.id.as_str(), &id).await?;
    let all = app.store().list_metrics(&page.id, Some(&p.id)).await?;
    let shown = all
        .iter()
        .map(|m| MetricV1::new(m, p.kind, page.zone))
        .collect();
    Ok(Json(window(shown, q.window()?)))
}

/// Creates a metric of a provider.
#[utoipa::path(post, path = "/v1/pages/{page_id}/metrics_providers/{metrics_provider_id}/metrics", tag = "metrics",
    params(("page_id" = String, Path), ("metrics_provider_id" = String, Path)), request_body = MetricEnvelope,
    responses((status = 201, body = MetricV1), (status = 422, body = ErrorBody)))]
pub async fn create_metric(
    State(app): State<AppState>,
    WritePage { page, caller }: WritePage,
    ApiPath((_, id)): ApiPath<(String, String)>,
    ApiBody(body): ApiBody<MetricEnvelope>,
) -> ApiResult<(StatusCode, Json<MetricV1>)> {
    let p = provider_of(&app, page.id.as_str(), &id).await?;
    let now = app.now();
    let m = Metric::parse(&p, &body.metric, now)?;
    let m = app.store().create_metric(&m, &caller.actor, now).await?;
    app.page_changed(&page.id).await;
    Ok((
        StatusCode::CREATED,
        Json(MetricV1::new(&m, p.kind, page.zone)),
    ))
}

/// Every metric of the page.
#[utoipa::path(get, path = "/v1/pages/{page_id}/metrics", tag = "metrics",
    params(("page_id" = String, Path), ListParams),
    responses((status = 200, body = [MetricV1])))]
pub async fn list_metrics(
    State(app): State<AppState>,
    ReadPage { page, .. }: ReadPage,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult<Json<Vec<MetricV1>>> {
    let providers = app.store().list_providers(&page.id).await?;
    let all = app.store().list_metrics(&page.id, None).await?;
    let shown = all
        .iter()
        .filter_map(|m| {
            let kind = providers.iter().find(|p| p.id == m.provider_id)?.kind;
            Some(MetricV1::new(m, kind, page.zone))
        })
        .collect();
    Ok(Json(window(shown, q.window()?)))
}

/// One metric.
#[utoipa::path(get, path = "/v1/pages/{page_id}/metrics/{metric_id}", tag = "metrics",
    params(("page_id" = String, Path), ("metric_id" = String, Path)),
    responses((status = 200, body = MetricV1)))]
pub async fn get_metric(
    State(app): State<AppState>,
    ReadPage { page, .. }: ReadPage,
    ApiPath((_, id)): ApiPath<(String, String)>,
) -> ApiResult<Json<MetricV1>> {
    let m = metric_on_page(&app, page.id.as_str(), &id).await?;
    let kind = kind_of(&app, &m).await?;
    Ok(Json(MetricV1::new(&m, kind, page.zone)))
}

/// Changes a metric: only the fields sent.
#[utoipa::path(method(patch, put), path = "/v1/pages/{page_id}/metrics/{metric_id}", tag = "metrics",
    params(("page_id" = String, Path), ("metric_id" = String, Path)), request_body = MetricEnvelope,
    responses((status = 200, body = MetricV1)))]
pub async fn update_metric(
    State(app): State<AppState>,
    WritePage { page, caller }: WritePage,
    ApiPath((_, id)): ApiPath<(String, String)>,
    ApiBody(body): ApiBody<MetricEnvelope>,
) -> ApiResult<Json<MetricV1>> {
    let mut m = metric_on_page(&app, page.id.as_str(), &id).await?;
    let kind = kind_of(&app, &m).await?;
    m.apply(kind, &body.metric)?;
    let m = app
        .store()
        .update_metric(&m, &caller.actor, app.now())
        .await?;
    app.page_changed(&page.id).await;
    Ok(Json(MetricV1::new(&m, kind, page.zone)))
}

/// Deletes a metric and its points; returns it as it was.
#[utoipa::path(delete, path = "/v1/pages/{page_id}/metrics/{metric_id}", tag = "metrics",
    params(("page_id" = String, Path), ("metric_id" = String, Path)),
    responses((status = 200, body = MetricV1)))]
pub async fn delete_metric(
    State(app): State<AppState>,
    WritePage { page, caller }: WritePage,
    ApiPath((_, id)): ApiPath<(String, String)>,
) -> ApiResult<Json<MetricV1>> {
    let m = metric_on_page(&app, page.id.as_str(), &id).await?;
    let kind = kind_of(&app, &m).await?;
    let m = app
        .store()
        .delete_metric(&page.id, &id, &caller.actor, app.now())
        .await?;
    app.page_changed(&page.id).await;
    Ok(Json(MetricV1::new(&m, kind, page.zone)))
}
