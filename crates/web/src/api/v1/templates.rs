//! `/v1/pages/{page_id}/incident_templates`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use herald_domain::template::{Template, TemplateInput};
use serde::Deserialize;
use utoipa::ToSchema;

use super::dto::TemplateV1;
use super::{ErrorBody, window};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiBody, ApiPath, ApiQuery, ListParams, ReadPage, WritePage};
use crate::state::AppState;

/// `{"template": {...}}`
#[derive(Debug, Deserialize, ToSchema)]
pub struct TemplateEnvelope {
    pub template: TemplateInput,
}

/// The page's templates, by name.
#[utoipa::path(get, path = "/v1/pages/{page_id}/incident_templates", tag = "incident templates",
    params(("page_id" = String, Path), ListParams),
    responses((status = 200, body = [TemplateV1])))]
pub async fn list_templates(
    State(app): State<AppState>,
    ReadPage { page, .. }: ReadPage,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Json<Vec<TemplateV1>>> {
    let components = app.store().list_components(&page.id).await?;
    let all = app.store().list_templates(&page.id).await?;
    let shown = all
        .iter()
        .map(|t| TemplateV1::new(t, &components, page.zone))
        .collect();
    Ok(Json(window(shown, p.window()?)))
}

/// Creates a template.
#[utoipa::path(post, path = "/v1/pages/{page_id}/incident_templates", tag = "incident templates",
    params(("page_id" = String, Path)), request_body = TemplateEnvelope,
    responses((status = 201, body = TemplateV1), (status = 422, body = ErrorBody)))]
pub async fn create_template(
    State(app): State<AppState>,
    WritePage { page, caller }: WritePage,
    ApiBody(body): ApiBody<TemplateEnvelope>,
) -> ApiResult<(StatusCode, Json<TemplateV1>)> {
    let now = app.now();
    let t = Template::parse(&page.id, &body.template, now)?;
    let t = app.store().create_template(&t, &caller.actor, now).await?;
    app.page_changed(&page.id).await;
    let components = app.store().list_components(&page.id).await?;
    Ok((
        StatusCode::CREATED,
        Json(TemplateV1::new(&t, &components, page.zone)),
    ))
}

/// One template (herald extension).
#[utoipa::path(get, path = "/v1/pages/{page_id}/incident_templates/{template_id}", tag = "incident templates",
    params(("page_id" = String, Path), ("template_id" = String, Path)),
    responses((status = 200, body = TemplateV1), (status = 404, body = ErrorBody)))]
pub async fn get_template(
    State(app): State<AppState>,
    ReadPage { page, .. }: ReadPage,
    ApiPath((_, id)): ApiPath<(String, String)>,
) -> ApiResult<Json<TemplateV1>> {
    let t = app
        .store()
        .get_template(&page.id, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let components = app.store().list_components(&page.id).await?;
    Ok(Json(TemplateV1::new(&t, &components, page.zone)))
}

/// Deletes a template (herald extension); returns it as it was.
#[utoipa::path(delete, path = "/v1/pages/{page_id}/incident_templates/{template_id}", tag = "incident templates",
    params(("page_id" = String, Path), ("template_id" = String, Path)),
    responses((status = 200, body = TemplateV1), (status = 404, body = ErrorBody)))]
pub async fn delete_template(
    State(app): State<AppState>,
    WritePage { page, caller }: WritePage,
    ApiPath((_, id)): ApiPath<(String, String)>,
) -> ApiResult<Json<TemplateV1>> {
    let t = app
        .store()
        .delete_template(&page.id, &id, &caller.actor, app.now())
        .await?;
    app.page_changed(&page.id).await;
    let components = app.store().list_components(&page.id).await?;
    Ok(Json(TemplateV1::new(&t, &components, page.zone)))
}
