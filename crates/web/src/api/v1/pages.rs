//! `/v1/pages`: list, get and update pages.

use axum::Json;
use axum::extract::State;
use herald_domain::page::PagePatch;
use serde::Deserialize;
use utoipa::ToSchema;

use super::ErrorBody;
use super::dto::PageV1;
use crate::error::ApiResult;
use crate::extract::{ApiBody, Caller, ReadPage, WritePage};
use crate::state::AppState;

/// `{"page": {...}}`
#[derive(Debug, Deserialize, ToSchema)]
pub struct PageEnvelope {
    pub page: PagePatch,
}

/// The pages this key may use.
#[utoipa::path(get, path = "/v1/pages", tag = "pages",
    responses((status = 200, body = [PageV1]), (status = 401, body = ErrorBody)))]
pub async fn list_pages(
    State(app): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<PageV1>>> {
    let pages = app.store().list_pages(false).await?;
    let base = &app.config().public_url;
    Ok(Json(
        pages
            .iter()
            .filter(|p| caller.key.can_access(&p.id))
            .map(|p| PageV1::new(p, base))
            .collect(),
    ))
}

/// One page.
#[utoipa::path(get, path = "/v1/pages/{page_id}", tag = "pages",
    params(("page_id" = String, Path)),
    responses((status = 200, body = PageV1), (status = 404, body = ErrorBody)))]
pub async fn get_page(
    State(app): State<AppState>,
    ReadPage { page, .. }: ReadPage,
) -> ApiResult<Json<PageV1>> {
    Ok(Json(PageV1::new(&page, &app.config().public_url)))
}

/// Changes a page's settings; only the fields sent change.
#[utoipa::path(method(patch, put), path = "/v1/pages/{page_id}", tag = "pages",
    params(("page_id" = String, Path)), request_body = PageEnvelope,
    responses((status = 200, body = PageV1), (status = 422, body = ErrorBody)))]
pub async fn update_page(
    State(app): State<AppState>,
    WritePage { page, caller }: WritePage,
    ApiBody(body): ApiBody<PageEnvelope>,
) -> ApiResult<Json<PageV1>> {
    let page = app
        .store()
        .update_page(&page.id, &caller.actor, app.now(), |current| {
            current.apply_domain_rules(&body.page, &app.config().own_hosts())
        })
        .await?;
    app.page_changed(&page.id).await;
    Ok(Json(PageV1::new(&page, &app.config().public_url)))
}
