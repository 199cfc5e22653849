//! `/v1/pages/{page_id}/status_embed_config`: the status embed's corner and colours
//! (Statuspage's resource). `/embed/script.js` reads them from the page's public
//! `/embed/config.json`, which the write re-renders before answering.

use axum::Json;
use axum::extract::State;
use herald_domain::embed::{EmbedConfig, EmbedPatch};
use herald_domain::page::Page;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ErrorBody;
use crate::error::ApiResult;
use crate::extract::{ApiBody, ReadPage, WritePage};
use crate::state::AppState;

/// `{"status_embed_config": {...}}`
#[derive(Debug, Deserialize, ToSchema)]
pub struct EmbedEnvelope {
    pub status_embed_config: EmbedPatch,
}

/// The embed's settings (Statuspage's shape).
#[derive(Debug, Serialize, ToSchema)]
pub struct EmbedConfigV1 {
    pub page_id: String,
    /// `bottom-left`, `bottom-right`, `top-left` or `top-right`.
    pub position: String,
    pub incident_background_color: String,
    pub incident_text_color: String,
    pub maintenance_background_color: String,
    pub maintenance_text_color: String,
}

fn shown(page: &Page) -> EmbedConfigV1 {
    let c = page
        .settings
        .status_embed_config
        .clone()
        .unwrap_or_default();
    EmbedConfigV1 {
        page_id: page.id.to_string(),
        position: c.position,
        incident_background_color: c.incident_background_color,
        incident_text_color: c.incident_text_color,
        maintenance_background_color: c.maintenance_background_color,
        maintenance_text_color: c.maintenance_text_color,
    }
}

/// The embed's settings.
#[utoipa::path(get, path = "/v1/pages/{page_id}/status_embed_config", tag = "status embed config",
    params(("page_id" = String, Path)),
    responses((status = 200, body = EmbedConfigV1), (status = 404, body = ErrorBody)))]
pub async fn get_embed_config(ReadPage { page, .. }: ReadPage) -> Json<EmbedConfigV1> {
    Json(shown(&page))
}

/// Changes the embed's settings: each field sent replaces the current one.
#[utoipa::path(method(patch, put), path = "/v1/pages/{page_id}/status_embed_config", tag = "status embed config",
    params(("page_id" = String, Path)), request_body = EmbedEnvelope,
    responses((status = 200, body = EmbedConfigV1), (status = 422, body = ErrorBody)))]
pub async fn update_embed_config(
    State(app): State<AppState>,
    WritePage { page, caller }: WritePage,
    ApiBody(body): ApiBody<EmbedEnvelope>,
) -> ApiResult<Json<EmbedConfigV1>> {
    let patch = body.status_embed_config;
    let page = app
        .store()
        .update_page(&page.id, &caller.actor, app.now(), |p| {
            let mut p = p.clone();
            let current = p.settings.status_embed_config.clone().unwrap_or_default();
            p.settings.status_embed_config = Some(current.apply(&patch)?);
            Ok(p)
        })
        .await?;
    app.page_changed(&page.id).await;
    Ok(Json(shown(&page)))
}

/// The public `/embed/config.json` of a page: what `/embed/script.js` reads.
pub fn public_config(page: &Page) -> Vec<u8> {
    let c: EmbedConfig = page
        .settings
        .status_embed_config
        .clone()
        .unwrap_or_default();
    serde_json::to_vec(&c).unwrap_or_default()
}
