//! `/hooks/{integration_id}`: where integrations send alerts and pings, authenticated by
//! the integration's token (`?token=`, which is what Alertmanager's `url` can carry, or
//! `Authorization: Bearer`). No token is a 401; a token that is not this integration's
//! (mistyped, rotated, another page's) is a 404, like an integration that does not exist.
//! The token is checked before the body is read.
//!
//! Alertmanager payloads go to `Store::receive_alerts`, generic webhook bodies to
//! `Store::receive_webhook`, heartbeat pings to `Store::ping_heartbeat`; each is one
//! transaction that answers 200 with what it changed, and a change re-renders the public
//! page before the answer, as a components API write does.

use axum::Json;
use axum::extract::{FromRequestParts, RawPathParams, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use herald_domain::apikey;
use herald_domain::automation::alerts::{AlertmanagerPayload, WebhookItem};
use herald_domain::automation::{Integration, IntegrationKind, Outcome, TOKEN_PREFIX};
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ApiResult};
use crate::extract::{ClientIp, HookBody};
use crate::state::AppState;

/// Largest body a hook accepts: a group of 10,000 alerts fits, 10 MiB does not.
pub const HOOK_BODY_LIMIT: usize = 8 * 1024 * 1024;

/// The integration a request's token opens.
#[derive(Debug, Clone)]
pub struct Hook {
    pub integration: Integration,
    pub ip: Option<String>,
}

fn presented(parts: &Parts) -> Option<String> {
    let from_query = parts.uri.query().and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.into_owned())
    });
    from_query
        .or_else(|| {
            let h = parts.headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
            let t = h.strip_prefix("Bearer ").unwrap_or(h);
            Some(t.trim().to_owned())
        })
        .filter(|t| !t.is_empty())
}

impl FromRequestParts<AppState> for Hook {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = presented(parts).ok_or(ApiError::Unauthorized)?;
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::NotFound)?;
        let id = params
            .iter()
            .find(|(k, _)| *k == "integration_id")
            .map(|(_, v)| v.to_owned())
            .ok_or(ApiError::NotFound)?;
        let hash = apikey::check_with(TOKEN_PREFIX, &token).ok_or(ApiError::NotFound)?;
        let integration = state
            .store()
            .find_integration_by_token(&hash)
            .await?
            .filter(|i| i.id == id)
            .ok_or(ApiError::NotFound)?;
        Ok(Hook {
            integration,
            ip: ClientIp::of(state, parts).text(),
        })
    }
}

/// Parses JSON: a syntax error is a 400, a wrong type a 422 naming the field.
fn parse<T: DeserializeOwned>(value: serde_json::Value) -> ApiResult<T> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let field = (path != ".").then_some(path);
        ApiError::Unprocessable {
            message: match &field {
                Some(f) => format!("{f}: {inner}"),
                None => inner.to_string(),
            },
            field,
        }
    })
}

fn json_value(body: &[u8]) -> ApiResult<serde_json::Value> {
    serde_json::from_slice(body).map_err(|e| ApiError::BadRequest(format!("Malformed JSON: {e}")))
}

/// `POST /hooks/{integration_id}`: alerts, webhook items or a heartbeat's ping.
pub async fn receive(
    State(app): State<AppState>,
    Hook { integration: i, ip }: Hook,
    HookBody(body): HookBody,
) -> ApiResult<Json<Outcome>> {
    let now = app.now();
    let store = app.store();
    let out = match i.kind {
        IntegrationKind::Alertmanager => {
            let v = json_value(&body)?;
            if !v.is_object() {
                return Err(ApiError::Unprocessable {
                    field: None,
                    message:
                        "the body must be Alertmanager's webhook payload: an object with `alerts`"
                            .to_owned(),
                });
            }
            let payload: AlertmanagerPayload = parse(v)?;
            store
                .receive_alerts(&i.page_id, &i.id, &payload, ip, now)
                .await?
        }
        IntegrationKind::Webhook => {
            let v = json_value(&body)?;
            let (items, single): (Vec<WebhookItem>, bool) = match v {
                serde_json::Value::Array(_) => (parse(v)?, false),
                serde_json::Value::Object(_) => (vec![parse(v)?], true),
                _ => {
                    return Err(ApiError::Unprocessable {
                        field: None,
                        message: "the body must be {\"component\", \"status\", \"message\"} or a list of them".to_owned(),
                    });
                }
            };
            if items.len() > 10_000 {
                return Err(ApiError::Unprocessable {
                    field: None,
                    message: "at most 10000 items per request".to_owned(),
                });
            }
            store
                .receive_webhook(&i.page_id, &i.id, &items, single, ip, now)
                .await?
        }
        IntegrationKind::Heartbeat => store.ping_heartbeat(&i.page_id, &i.id, ip, now).await?,
        // Checks are run by herald; nothing is sent to them.
        IntegrationKind::Http | IntegrationKind::Tcp | IntegrationKind::Tls => {
            return Err(ApiError::NotFound);
        }
    };
    if out.page_changed() {
        app.page_changed(&i.page_id).await;
    }
    Ok(Json(out))
}

/// `GET /hooks/{integration_id}`: a heartbeat's ping (what `curl` in a cron job sends).
pub async fn ping(
    State(app): State<AppState>,
    Hook { integration: i, ip }: Hook,
) -> ApiResult<Json<Outcome>> {
    if i.kind != IntegrationKind::Heartbeat {
        return Err(ApiError::MethodNotAllowed);
    }
    let out = app
        .store()
        .ping_heartbeat(&i.page_id, &i.id, ip, app.now())
        .await?;
    if out.page_changed() {
        app.page_changed(&i.page_id).await;
    }
    Ok(Json(out))
}
