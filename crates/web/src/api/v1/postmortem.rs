//! `/v1/pages/{page_id}/incidents/{incident_id}/postmortem`: draft, publish, revert, delete.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use herald_domain::id::IncidentId;
use herald_domain::incident::{
    Incident, Postmortem, PostmortemInput, publish_postmortem, revert_postmortem,
    save_postmortem_draft,
};
use serde::Deserialize;
use utoipa::ToSchema;

use super::ErrorBody;
use super::dto::PostmortemV1;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiBody, ApiPath, ReadPage, WritePage};
use crate::state::AppState;

/// `{"postmortem": {...}}`; optional on publish and revert.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct PostmortemEnvelope {
    #[serde(default)]
    pub postmortem: Option<PostmortemInput>,
}

impl PostmortemEnvelope {
    fn input(self) -> PostmortemInput {
        self.postmortem.unwrap_or_default()
    }
}

type Ids = ApiPath<(String, IncidentId)>;

/// The incident's postmortem.
#[utoipa::path(get, path = "/v1/pages/{page_id}/incidents/{incident_id}/postmortem", tag = "postmortem",
    params(("page_id" = String, Path), ("incident_id" = String, Path)),
    responses((status = 200, body = PostmortemV1), (status = 404, body = ErrorBody)))]
pub async fn get_postmortem(
    State(app): State<AppState>,
    ReadPage { page, .. }: ReadPage,
    ApiPath((_, incident_id)): Ids,
) -> ApiResult<Json<PostmortemV1>> {
    let i = app
        .store()
        .get_incident(&page.id, &incident_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(PostmortemV1::new(&i, page.zone)))
}

async fn modify(
    app: &AppState,
    WritePage { page, caller }: WritePage,
    (_, incident_id): (String, IncidentId),
    action: &str,
    change: impl FnOnce(&Incident, DateTime<Utc>) -> Result<Incident, herald_domain::Invalid> + Send,
) -> ApiResult<Json<PostmortemV1>> {
    let i = app
        .store()
        .modify_incident(
            &page.id,
            &incident_id,
            action,
            &caller.actor,
            app.now(),
            change,
        )
        .await?;
    app.page_changed(&page.id).await;
    Ok(Json(PostmortemV1::new(&i, page.zone)))
}

/// Saves the postmortem draft (`{"postmortem": {"body_draft": "..."}}`).
#[utoipa::path(put, path = "/v1/pages/{page_id}/incidents/{incident_id}/postmortem", tag = "postmortem",
    params(("page_id" = String, Path), ("incident_id" = String, Path)), request_body = PostmortemEnvelope,
    responses((status = 200, body = PostmortemV1), (status = 422, body = ErrorBody)))]
pub async fn save_postmortem(
    State(app): State<AppState>,
    scope: WritePage,
    ApiPath(ids): Ids,
    ApiBody(body): ApiBody<PostmortemEnvelope>,
) -> ApiResult<Json<PostmortemV1>> {
    let input = body.input();
    modify(&app, scope, ids, "postmortem.save_draft", |i, now| {
        let mut i = i.clone();
        i.postmortem = save_postmortem_draft(&i.postmortem, &input, now)?;
        Ok(i)
    })
    .await
}

/// Publishes the draft; the incident's status becomes `postmortem`.
#[utoipa::path(put, path = "/v1/pages/{page_id}/incidents/{incident_id}/postmortem/publish", tag = "postmortem",
    params(("page_id" = String, Path), ("incident_id" = String, Path)), request_body = PostmortemEnvelope,
    responses((status = 200, body = PostmortemV1), (status = 422, body = ErrorBody)))]
pub async fn publish(
    State(app): State<AppState>,
    scope: WritePage,
    ApiPath(ids): Ids,
    ApiBody(body): ApiBody<PostmortemEnvelope>,
) -> ApiResult<Json<PostmortemV1>> {
    let input = body.input();
    modify(&app, scope, ids, "postmortem.publish", |i, now| {
        publish_postmortem(i, &input, now)
    })
    .await
}

/// Takes a published postmortem back to draft.
#[utoipa::path(put, path = "/v1/pages/{page_id}/incidents/{incident_id}/postmortem/revert", tag = "postmortem",
    params(("page_id" = String, Path), ("incident_id" = String, Path)),
    responses((status = 200, body = PostmortemV1), (status = 422, body = ErrorBody)))]
pub async fn revert(
    State(app): State<AppState>,
    scope: WritePage,
    ApiPath(ids): Ids,
) -> ApiResult<Json<PostmortemV1>> {
    modify(&app, scope, ids, "postmortem.revert", |i, now| {
        revert_postmortem(i, now)
    })
    .await
}

/// Deletes the postmortem, draft and published text alike.
#[utoipa::path(delete, path = "/v1/pages/{page_id}/incidents/{incident_id}/postmortem", tag = "postmortem",
    params(("page_id" = String, Path), ("incident_id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_postmortem(
    State(app): State<AppState>,
    scope: WritePage,
    ApiPath(ids): Ids,
) -> ApiResult<StatusCode> {
    let _deleted = modify(&app, scope, ids, "postmortem.delete", |i, _| {
        let mut i = i.clone();
        if i.status == herald_domain::status::IncidentStatus::Postmortem {
            i.status = herald_domain::status::IncidentStatus::Resolved;
        }
        i.postmortem = Postmortem::default();
        Ok(i)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
