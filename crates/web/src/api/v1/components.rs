//! `/v1/pages/{page_id}/components`: component CRUD.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use herald_domain::component::{ComponentInput, ComponentPatch, NewComponent};
use herald_domain::id::ComponentId;
use serde::Deserialize;
use utoipa::ToSchema;

use super::dto::ComponentV1;
use super::{ErrorBody, window};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiBody, ApiPath, ApiQuery, ListParams, ReadPage, WritePage};
use crate::state::AppState;

/// `{"component": {...}}`
#[derive(Debug, Deserialize, ToSchema)]
pub struct ComponentEnvelope {
    pub component: ComponentInput,
}

/// The page's components and groups, in display order.
#[utoipa::path(get, path = "/v1/pages/{page_id}/components", tag = "components",
    params(("page_id" = String, Path), ListParams),
    responses((status = 200, body = [ComponentV1]), (status = 404, body = ErrorBody)))]
pub async fn list_components(
    State(app): State<AppState>,
    ReadPage { page, .. }: ReadPage,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<Vec<ComponentV1>>> {
    let all = app.store().list_components(&page.id).await?;
    let shown = all
        .iter()
        .map(|c| ComponentV1::new(c, &all, page.zone))
        .collect();
    Ok(Json(window(shown, params.window()?)))
}

/// Creates a component.
#[utoipa::path(post, path = "/v1/pages/{page_id}/components", tag = "components",
    params(("page_id" = String, Path)), request_body = ComponentEnvelope,
    responses((status = 201, body = ComponentV1), (status = 422, body = ErrorBody)))]
pub async fn create_component(
    State(app): State<AppState>,
    WritePage { page, caller }: WritePage,
    ApiBody(body): ApiBody<ComponentEnvelope>,
) -> ApiResult<(StatusCode, Json<ComponentV1>)> {
    let new = NewComponent::parse(&body.component)?;
    let c = app
        .store()
        .create_component(&page.id, &new, &caller.actor, app.now())
        .await?;
    app.page_changed(&page.id).await;
    let all = app.store().list_components(&page.id).await?;
    Ok((
        StatusCode::CREATED,
        Json(ComponentV1::new(&c, &all, page.zone)),
    ))
}

/// One component.
#[utoipa::path(get, path = "/v1/pages/{page_id}/components/{component_id}", tag = "components",
    params(("page_id" = String, Path), ("component_id" = String, Path)),
    responses((status = 200, body = ComponentV1), (status = 404, body = ErrorBody)))]
pub async fn get_component(
    State(app): State<AppState>,
    ReadPage { page, .. }: ReadPage,
    ApiPath((_, component_id)): ApiPath<(String, ComponentId)>,
) -> ApiResult<Json<ComponentV1>> {
    let all = app.store().list_components(&page.id).await?;
    let c = all
        .iter()
        .find(|c| c.id == component_id)
        .ok_or(ApiError::NotFound)?;
    Ok(Json(ComponentV1::new(c, &all, page.zone)))
}

/// Changes a component; only the fields sent change.
#[utoipa::path(method(patch, put), path = "/v1/pages/{page_id}/components/{component_id}", tag = "components",
    params(("page_id" = String, Path), ("component_id" = String, Path)), request_body = ComponentEnvelope,
    responses((status = 200, body = ComponentV1), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_component(
    State(app): State<AppState>,
    WritePage { page, caller }: WritePage,
    ApiPath((_, component_id)): ApiPath<(String, ComponentId)>,
    ApiBody(body): ApiBody<ComponentEnvelope>,
) -> ApiResult<Json<ComponentV1>> {
    let patch = ComponentPatch::parse(&body.component)?;
    let c = app
        .store()
        .update_component(&page.id, &component_id, &patch, &caller.actor, app.now())
        .await?;
    app.page_changed(&page.id).await;
    let all = app.store().list_components(&page.id).await?;
    Ok(Json(ComponentV1::new(&c, &all, page.zone)))
}

/// Deletes a component.
#[utoipa::path(delete, path = "/v1/pages/{page_id}/components/{component_id}", tag = "components",
    params(("page_id" = String, Path), ("component_id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_component(
    State(app): State<AppState>,
    WritePage { page, caller }: WritePage,
    ApiPath((_, component_id)): ApiPath<(String, ComponentId)>,
) -> ApiResult<StatusCode> {
    app.store()
        .delete_component(&page.id, &component_id, &caller.actor, app.now())
        .await?;
    app.page_changed(&page.id).await;
    Ok(StatusCode::NO_CONTENT)
}
