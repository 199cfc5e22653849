//! `/v1/pages/{page_id}/component-groups`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use herald_domain::component::{GroupInput, GroupPatch};
use herald_domain::id::ComponentId;
use serde::Deserialize;
use utoipa::ToSchema;

use super::dto::GroupV1;
use super::{ErrorBody, window};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiBody, ApiPath, ApiQuery, ListParams, ReadPage, WritePage};
use crate::state::AppState;

/// The group's fields inside `component_group`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct GroupBody {
    pub name: Option<String>,
    /// Ids of the components in the group, in order.
    pub components: Option<Vec<String>>,
    /// Herald extension: order among top-level items.
    pub position: Option<i64>,
}

/// `{"description": "...", "component_group": {"name": ..., "components": [...]}}`: the
/// description sits outside the wrapper, as in Statuspage's API.
#[derive(Debug, Deserialize, ToSchema)]
pub struct GroupEnvelope {
    #[serde(default, deserialize_with = "herald_domain::patch::double_option")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    pub component_group: GroupBody,
}

/// The page's component groups.
#[utoipa::path(get, path = "/v1/pages/{page_id}/component-groups", tag = "component groups",
    params(("page_id" = String, Path), ListParams),
    responses((status = 200, body = [GroupV1])))]
pub async fn list_groups(
    State(app): State<AppState>,
    ReadPage { page, .. }: ReadPage,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<Vec<GroupV1>>> {
    let all = app.store().list_components(&page.id).await?;
    let groups = all
        .iter()
        .filter(|c| c.is_group)
        .map(|g| GroupV1::new(g, &all, page.zone))
        .collect();
    Ok(Json(window(groups, params.window()?)))
}

/// Creates a group and moves the listed components into it.
#[utoipa::path(post, path = "/v1/pages/{page_id}/component-groups", tag = "component groups",
    params(("page_id" = String, Path)), request_body = GroupEnvelope,
    responses((status = 201, body = GroupV1), (status = 422, body = ErrorBody)))]
pub async fn create_group(
    State(app): State<AppState>,
    WritePage { page, caller }: WritePage,
    ApiBody(body): ApiBody<GroupEnvelope>,
) -> ApiResult<(StatusCode, Json<GroupV1>)> {
    let input = GroupInput::parse(
        body.component_group.name.as_deref().unwrap_or(""),
        body.description.flatten().as_deref(),
        body.component_group.components.unwrap_or_default(),
    )?;
    let g = app
        .store()
        .create_group(&page.id, &input, &caller.actor, app.now())
        .await?;
    app.page_changed(&page.id).await;
    let all = app.store().list_components(&page.id).await?;
    Ok((StatusCode::CREATED, Json(GroupV1::new(&g, &all, page.zone))))
}

/// One group.
#[utoipa::path(get, path = "/v1/pages/{page_id}/component-groups/{group_id}", tag = "component groups",
    params(("page_id" = String, Path), ("group_id" = String, Path)),
    responses((status = 200, body = GroupV1), (status = 404, body = ErrorBody)))]
pub async fn get_group(
    State(app): State<AppState>,
    ReadPage { page, .. }: ReadPage,
    ApiPath((_, group_id)): ApiPath<(String, ComponentId)>,
) -> ApiResult<Json<GroupV1>> {
    let all = app.store().list_components(&page.id).await?;
    let g = all
        .iter()
        .find(|c| c.id == group_id && c.is_group)
        .ok_or(ApiError::NotFound)?;
    Ok(Json(GroupV1::new(g, &all, page.zone)))
}

/// Changes a group; a `components` list replaces its membership.
#[utoipa::path(method(patch, put), path = "/v1/pages/{page_id}/component-groups/{group_id}", tag = "component groups",
    params(("page_id" = String, Path), ("group_id" = String, Path)), request_body = GroupEnvelope,
    responses((status = 200, body = GroupV1), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_group(
    State(app): State<AppState>,
    WritePage { page, caller }: WritePage,
    ApiPath((_, group_id)): ApiPath<(String, ComponentId)>,
    ApiBody(body): ApiBody<GroupEnvelope>,
) -> ApiResult<Json<GroupV1>> {
    let g = body.component_group;
    let patch = GroupPatch::parse(
        g.name.as_deref(),
        body.description.as_ref().map(|d| d.as_deref()),
        g.components,
        g.position,
    )?;
    let group = app
        .store()
        .update_group(&page.id, &group_id, &patch, &caller.actor, app.now())
        .await?;
    app.page_changed(&page.id).await;
    let all = app.store().list_components(&page.id).await?;
    Ok(Json(GroupV1::new(&group, &all, page.zone)))
}

/// Deletes a group; its components stay, at the top level. Returns the group as it was.
#[utoipa::path(delete, path = "/v1/pages/{page_id}/component-groups/{group_id}", tag = "component groups",
    params(("page_id" = String, Path), ("group_id" = String, Path)),
    responses((status = 200, body = GroupV1), (status = 404, body = ErrorBody)))]
pub async fn delete_group(
    State(app): State<AppState>,
    WritePage { page, caller }: WritePage,
    ApiPath((_, group_id)): ApiPath<(String, ComponentId)>,
) -> ApiResult<Json<GroupV1>> {
    let all = app.store().list_components(&page.id).await?;
    let g = all
        .iter()
        .find(|c| c.id == group_id && c.is_group)
        .ok_or(ApiError::NotFound)?;
    let shown = GroupV1::new(g, &all, page.zone);
    app.store()
        .delete_component(&page.id, &group_id, &caller.actor, app.now())
        .await?;
    app.page_changed(&page.id).await;
    Ok(Json(shown))
}
