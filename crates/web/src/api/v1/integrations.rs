//! `/v1/pages/{page_id}/integrations` (herald extension): Alertmanager receivers, generic
//! webhooks, heartbeats and checks that move components. The token is in `webhook_url`,
//! shown on creation and on rotation only; herald keeps its hash.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use herald_domain::apikey;
use herald_domain::automation::checks::CheckConfig;
use herald_domain::automation::{IncidentRule, Integration, IntegrationInput, Rule, TOKEN_PREFIX};
use herald_domain::time::PageZone;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ErrorBody, window};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiBody, ApiPath, ApiQuery, ListParams, ReadPage, WritePage};
use crate::state::AppState;

/// `{"integration": {...}}`
#[derive(Debug, Deserialize, ToSchema)]
pub struct IntegrationEnvelope {
    pub integration: IntegrationInput,
}

/// What the last runs of a heartbeat or check found.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckStateV1 {
    pub up: bool,
    pub failures: u32,
    pub successes: u32,
    pub last_run_at: Option<String>,
    pub last_error: Option<String>,
}

/// An integration (herald extension).
#[derive(Debug, Serialize, ToSchema)]
pub struct IntegrationV1 {
    pub id: String,
    pub page_id: String,
    /// `alertmanager`, `webhook`, `heartbeat`, `http`, `tcp` or `tls`.
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub rules: Vec<Rule>,
    pub flap_window_seconds: u32,
    /// The incident a change away from operational opens (rules may name their own).
    pub incident: Option<IncidentRule>,
    /// Heartbeats and checks: their settings.
    #[schema(value_type = Option<Object>)]
    pub check: Option<CheckConfig>,
    /// Heartbeats and checks: what the last runs found.
    pub check_state: Option<CheckStateV1>,
    /// The first characters of the token, to tell tokens apart.
    pub token_prefix: String,
    /// Where to send alerts (or pings), with the token: only in the answer that created the
    /// token (creation, `rotate_token`); `null` otherwise.
    pub webhook_url: Option<String>,
    /// Requests received.
    pub requests: i64,
    pub last_request_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl IntegrationV1 {
    fn new(i: &Integration, zone: PageZone, url: Option<String>) -> Self {
        Self {
            id: i.id.clone(),
            page_id: i.page_id.to_string(),
            kind: i.kind.as_str().to_owned(),
            name: i.name.clone(),
            rules: i.config.rules.clone(),
            flap_window_seconds: i.config.flap_window_seconds,
            incident: i.config.incident.clone(),
            check: i.config.check.clone(),
            check_state: i.config.check.as_ref().map(|_| CheckStateV1 {
                up: i.check_state.up,
                failures: i.check_state.failures,
                successes: i.check_state.successes,
                last_run_at: zone.format_opt(i.check_state.last_run_at),
                last_error: i.check_state.last_error.clone(),
            }),
            token_prefix: i.token_prefix.clone(),
            webhook_url: url,
            requests: i.requests,
            last_request_at: zone.format_opt(i.last_request_at),
            created_at: zone.format(i.created_at),
            updated_at: zone.format(i.updated_at),
        }
    }
}

/// The URL an integration receives at, with its token.
pub(crate) fn hook_url(app: &AppState, id: &str, token: &str) -> String {
    format!(
        "{}/hooks/{id}?token={token}",
        app.config().public_url.trim_end_matches('/')
    )
}

/// The page's integrations, oldest first.
#[utoipa::path(get, path = "/v1/pages/{page_id}/integrations", tag = "integrations",
    params(("page_id" = String, Path), ListParams),
    responses((status = 200, body = [IntegrationV1])))]
pub async fn list_integrations(
    State(app): State<AppState>,
    ReadPage { page, .. }: ReadPage,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Json<Vec<IntegrationV1>>> {
    let all = app.store().list_integrations(&page.id).await?;
    let shown = all
        .iter()
        .map(|i| IntegrationV1::new(i, page.zone, None))
        .collect();
    Ok(Json(window(shown, p.window()?)))
}

/// Creates an integration; the answer's `webhook_url` carries its token, shown only here.
#[utoipa::path(post, path = "/v1/pages/{page_id}/integrations", tag = "integrations",
    params(("page_id" = String, Path)), request_body = IntegrationEnvelope,
    responses((status = 201, body = IntegrationV1), (status = 422, body = ErrorBody)))]
pub async fn create_integration(
    State(app): State<AppState>,
    WritePage { page, caller }: WritePage,
    ApiBody(body): ApiBody<IntegrationEnvelope>,
) -> ApiResult<(StatusCode, Json<IntegrationV1>)> {
    let token = apikey::generate_with(TOKEN_PREFIX);
    let i = app
        .store()
        .create_integration(
            &page.id,
            &body.integration,
            &token,
            &caller.actor,
            app.now(),
        )
        .await?;
    let url = hook_url(&app, &i.id, &token.secret);
    Ok((
        StatusCode::CREATED,
        Json(IntegrationV1::new(&i, page.zone, Some(url))),
    ))
}

/// One integration.
#[utoipa::path(get, path = "/v1/pages/{page_id}/integrations/{integration_id}", tag = "integrations",
    params(("page_id" = String, Path), ("integration_id" = String, Path)),
    responses((status = 200, body = IntegrationV1)))]
pub async fn get_integration(
    State(app): State<AppState>,
    ReadPage { page, .. }: ReadPage,
    ApiPath((_, id)): ApiPath<(String, String)>,
) -> ApiResult<Json<IntegrationV1>> {
    let i = app
        .store()
        .get_integration(&page.id, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(IntegrationV1::new(&i, page.zone, None)))
}

/// Changes an integration; `rotate_token: true` issues a new token (in `webhook_url`) and
/// the old one stops working at once.
#[utoipa::path(method(patch, put), path = "/v1/pages/{page_id}/integrations/{integration_id}", tag = "integrations",
    params(("page_id" = String, Path), ("integration_id" = String, Path)), request_body = IntegrationEnvelope,
    responses((status = 200, body = IntegrationV1), (status = 422, body = ErrorBody)))]
pub async fn update_integration(
    State(app): State<AppState>,
    WritePage { page, caller }: WritePage,
    ApiPath((_, id)): ApiPath<(String, String)>,
    ApiBody(body): ApiBody<IntegrationEnvelope>,
) -> ApiResult<Json<IntegrationV1>> {
    let token =
        (body.integration.rotate_token == Some(true)).then(|| apikey::generate_with(TOKEN_PREFIX));
    let i = app
        .store()
        .update_integration(
            &page.id,
            &id,
            &body.integration,
            token.as_ref(),
            &caller.actor,
            app.now(),
        )
        .await?;
    let url = token.map(|t| hook_url(&app, &i.id, &t.secret));
    Ok(Json(IntegrationV1::new(&i, page.zone, url)))
}

/// Deletes an integration (what it set stays; its alerts are forgotten).
#[utoipa::path(delete, path = "/v1/pages/{page_id}/integrations/{integration_id}", tag = "integrations",
    params(("page_id" = String, Path), ("integration_id" = String, Path)),
    responses((status = 204)))]
pub async fn delete_integration(
    State(app): State<AppState>,
    WritePage { page, caller }: WritePage,
    ApiPath((_, id)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    app.store()
        .delete_integration(&page.id, &id, &caller.actor, app.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
