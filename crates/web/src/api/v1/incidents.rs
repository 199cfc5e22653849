//! `/v1/pages/{page_id}/incidents`: incidents and scheduled maintenances (one resource), and
//! edits of past incident updates.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use herald_domain::id::IncidentId;
use herald_domain::incident::{
    IncidentInput, IncidentKind, IncidentUpdateInput, edit_update, plan_create, plan_update,
};
use herald_domain::page::Page;
use herald_domain::status::IncidentStatus;
use herald_store::{IncidentOrder, IncidentQuery};
use serde::Deserialize;
use utoipa::ToSchema;

use super::ErrorBody;
use super::dto::{IncidentUpdateV1, IncidentV1};
use crate::error::ApiResult;
use crate::extract::{ApiBody, ApiPath, ApiQuery, ListParams, ReadPage, WritePage};
use crate::state::AppState;

/// `{"incident": {...}}`
#[derive(Debug, Deserialize, ToSchema)]
pub struct IncidentEnvelope {
    pub incident: IncidentInput,
}

/// `{"incident_update": {...}}`
#[derive(Debug, Deserialize, ToSchema)]
pub struct IncidentUpdateEnvelope {
    pub incident_update: IncidentUpdateInput,
}

async fn respond(
    app: &AppState,
    page: &Page,
    incidents: &[herald_domain::incident::Incident],
) -> ApiResult<Vec<IncidentV1>> {
    let components = app.store().list_components(&page.id).await?;
    let base = &app.config().public_url;
    Ok(incidents
        .iter()
        .map(|i| IncidentV1::new(i, page, &components, base))
        .collect())
}

async fn one(
    app: &AppState,
    page: &Page,
    incident: &herald_domain::incident::Incident,
) -> ApiResult<IncidentV1> {
    // Only the incident's own components: the answer to a write must not read the page.
    let components = app
        .store()
        .components_by_id(&page.id, &incident.affected_component_ids())
        .await?;
    Ok(IncidentV1::new(
        incident,
        page,
        &components,
        &app.config().public_url,
    ))
}

async fn list(
    app: &AppState,
    page: &Page,
    params: &ListParams,
    mut query: IncidentQuery,
) -> ApiResult<Json<Vec<IncidentV1>>> {
    (query.limit, query.offset) = params.window()?;
    query.q.clone_from(&params.q);
    let incidents = app.store().list_incidents(&page.id, &query).await?;
    Ok(Json(respond(app, page, &incidents).await?))
}

/// Incidents and maintenances, newest first (`q` searches names).
#[utoipa::path(get, path = "/v1/pages/{page_id}/incidents", tag = "incidents",
    params(("page_id" = String, Path), ListParams),
    responses((status = 200, body = [IncidentV1])))]
pub async fn list_incidents(
    State(app): State<AppState>,
    ReadPage { page, .. }: ReadPage,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Json<Vec<IncidentV1>>> {
    list(&app, &page, &p, IncidentQuery::default()).await
}

/// Incidents still open (investigating, identified, monitoring).
#[utoipa::path(get, path = "/v1/pages/{page_id}/incidents/unresolved", tag = "incidents",
    params(("page_id" = String, Path), ListParams),
    responses((status = 200, body = [IncidentV1])))]
pub async fn list_unresolved(
    State(app): State<AppState>,
    ReadPage { page, .. }: ReadPage,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Json<Vec<IncidentV1>>> {
    let q = IncidentQuery {
        kind: Some(IncidentKind::Realtime),
        statuses: vec![
            IncidentStatus::Investigating,
            IncidentStatus::Identified,
            IncidentStatus::Monitoring,
        ],
        ..IncidentQuery::default()
    };
    list(&app, &page, &p, q).await
}

/// Maintenances not yet started, soonest first.
#[utoipa::path(get, path = "/v1/pages/{page_id}/incidents/upcoming", tag = "incidents",
    params(("page_id" = String, Path), ListParams),
    responses((status = 200, body = [IncidentV1])))]
pub async fn list_upcoming(
    State(app): State<AppState>,
    ReadPage { page, .. }: ReadPage,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Json<Vec<IncidentV1>>> {
    let q = IncidentQuery {
        kind: Some(IncidentKind::Maintenance),
        statuses: vec![IncidentStatus::Scheduled],
        order: IncidentOrder::SoonestScheduled,
        ..IncidentQuery::default()
    };
    list(&app, &page, &p, q).await
}

/// Maintenances in progress or verifying.
#[utoipa::path(get, path = "/v1/pages/{page_id}/incidents/active_maintenance", tag = "incidents",
    params(("page_id" = String, Path), ListParams),
    responses((status = 200, body = [IncidentV1])))]
pub async fn list_active_maintenance(
    State(app): State<AppState>,
    ReadPage { page, .. }: ReadPage,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Json<Vec<IncidentV1>>> {
    let q = IncidentQuery {
        kind: Some(IncidentKind::Maintenance),
        statuses: vec![IncidentStatus::InProgress, IncidentStatus::Verifying],
        order: IncidentOrder::SoonestScheduled,
        ..IncidentQuery::default()
    };
    list(&app, &page, &p, q).await
}

/// Every scheduled maintenance, whatever its status, newest first. (Statuspage does not
/// define how this differs from `upcoming`; herald reads it as "all maintenances".)
#[utoipa::path(get, path = "/v1/pages/{page_id}/incidents/scheduled", tag = "incidents",
    params(("page_id" = String, Path), ListParams),
    responses((status = 200, body = [IncidentV1])))]
pub async fn list_scheduled(
    State(app): State<AppState>,
    ReadPage { page, .. }: ReadPage,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Json<Vec<IncidentV1>>> {
    let q = IncidentQuery {
        kind: Some(IncidentKind::Maintenance),
        ..IncidentQuery::default()
    };
    list(&app, &page, &p, q).await
}

/// Creates an incident, or a scheduled maintenance (`status: scheduled` with a window).
#[utoipa::path(post, path = "/v1/pages/{page_id}/incidents", tag = "incidents",
    params(("page_id" = String, Path)), request_body = IncidentEnvelope,
    responses((status = 201, body = IncidentV1), (status = 422, body = ErrorBody)))]
pub async fn create_incident(
    State(app): State<AppState>,
    WritePage { page, caller }: WritePage,
    ApiBody(body): ApiBody<IncidentEnvelope>,
) -> ApiResult<(StatusCode, Json<IncidentV1>)> {
    let incident = app
        .store()
        .create_incident(
            &page.id,
            &caller.actor,
            app.now(),
            &body.incident.named_components(),
            |page, components, now| {
                plan_create(&body.incident, &page.id, components, now, page.zone)
            },
        )
        .await?;
    app.page_changed(&page.id).await;
    Ok((
        StatusCode::CREATED,
        Json(one(&app, &page, &incident).await?),
    ))
}

/// One incident with its timeline.
#[utoipa::path(get, path = "/v1/pages/{page_id}/incidents/{incident_id}", tag = "incidents",
    params(("page_id" = String, Path), ("incident_id" = String, Path)),
    responses((status = 200, body = IncidentV1), (status = 404, body = ErrorBody)))]
pub async fn get_incident(
    State(app): State<AppState>,
    ReadPage { page, .. }: ReadPage,
    ApiPath((_, incident_id)): ApiPath<(String, IncidentId)>,
) -> ApiResult<Json<IncidentV1>> {
    let incident = app
        .store()
        .get_incident(&page.id, &incident_id)
        .await?
        .ok_or(crate::error::ApiError::NotFound)?;
    Ok(Json(one(&app, &page, &incident).await?))
}

/// Changes an incident. Sending `status`, `body` or `components` posts a new update.
#[utoipa::path(method(patch, put), path = "/v1/pages/{page_id}/incidents/{incident_id}", tag = "incidents",
    params(("page_id" = String, Path), ("incident_id" = String, Path)), request_body = IncidentEnvelope,
    responses((status = 200, body = IncidentV1), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_incident(
    State(app): State<AppState>,
    WritePage { page, caller }: WritePage,
    ApiPath((_, incident_id)): ApiPath<(String, IncidentId)>,
    ApiBody(body): ApiBody<IncidentEnvelope>,
) -> ApiResult<Json<IncidentV1>> {
    let incident = app
        .store()
        .update_incident(
            &page.id,
            &incident_id,
            &caller.actor,
            app.now(),
            &body.incident.named_components(),
            |page, current, components, now| {
                plan_update(current, &body.incident, components, now, page.zone)
            },
        )
        .await?;
    app.page_changed(&page.id).await;
    Ok(Json(one(&app, &page, &incident).await?))
}

/// Deletes an incident and its timeline; returns it as it was.
#[utoipa::path(delete, path = "/v1/pages/{page_id}/incidents/{incident_id}", tag = "incidents",
    params(("page_id" = String, Path), ("incident_id" = String, Path)),
    responses((status = 200, body = IncidentV1), (status = 404, body = ErrorBody)))]
pub async fn delete_incident(
    State(app): State<AppState>,
    WritePage { page, caller }: WritePage,
    ApiPath((_, incident_id)): ApiPath<(String, IncidentId)>,
) -> ApiResult<Json<IncidentV1>> {
    let incident = app
        .store()
        .delete_incident(&page.id, &incident_id, &caller.actor, app.now())
        .await?;
    app.page_changed(&page.id).await;
    Ok(Json(one(&app, &page, &incident).await?))
}

/// Edits a past update: its text, display time or notification flag.
#[utoipa::path(method(patch, put), path = "/v1/pages/{page_id}/incidents/{incident_id}/incident_updates/{incident_update_id}", tag = "incidents",
    params(("page_id" = String, Path), ("incident_id" = String, Path), ("incident_update_id" = String, Path)),
    request_body = IncidentUpdateEnvelope,
    responses((status = 200, body = IncidentUpdateV1), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_incident_update(
    State(app): State<AppState>,
    WritePage { page, caller }: WritePage,
    ApiPath((_, incident_id, update_id)): ApiPath<(String, IncidentId, String)>,
    ApiBody(body): ApiBody<IncidentUpdateEnvelope>,
) -> ApiResult<Json<IncidentUpdateV1>> {
    let u = app
        .store()
        .update_incident_update(
            &page.id,
            &incident_id,
            &update_id,
            &caller.actor,
            app.now(),
            |page, current, now| edit_update(current, &body.incident_update, now, page.zone),
        )
        .await?;
    app.page_changed(&page.id).await;
    Ok(Json(IncidentUpdateV1::new(&u, page.zone)))
}
