//! Statuspage's legacy subscriber JSON: `POST/DELETE /api/v2/subscribers.json`, as its
//! `se-v2.js` widget sends it, answered with CORS for any origin and never cached.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use herald_notify::links::Purpose;
use serde::Deserialize;
use serde_json::json;

use super::{Public, SUBSCRIBE_MESSAGE, subscribe};
use crate::api::v1::subscribers::SubscriberEnvelope;
use crate::error::ApiError;
use crate::extract::ApiBody;
use crate::state::AppState;

/// `POST /api/v2/subscribers.json` (form-encoded `subscriber[email]=…`, or JSON), as
/// Statuspage's `se-v2.js` sends it.
pub async fn subscribe_json(
    State(app): State<AppState>,
    public: Public,
    ApiBody(body): ApiBody<SubscriberEnvelope>,
) -> Response {
    match subscribe(&app, &public, &body).await {
        Ok(new) => cors(
            Json(json!({
                "subscriber": {
                    "mode": new.channel.mode(),
                    "email": new.email,
                    "phone_number": new.phone_number,
                    "endpoint": new.endpoint,
                    "component_ids": new.component_ids,
                    "incident_id": new.incident_id,
                },
                "message": SUBSCRIBE_MESSAGE,
            }))
            .into_response(),
        ),
        Err(e) => cors(e.into_response()),
    }
}

/// What `DELETE /api/v2/subscribers.json` carries: the token of an unsubscribe or manage
/// link in `subscriber[id]` (a bare subscriber id is not enough: it would let anyone who
/// learns one unsubscribe someone else).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct UnsubscribeEnvelope {
    subscriber: UnsubscribeBody,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct UnsubscribeBody {
    id: String,
}

/// `DELETE /api/v2/subscribers.json`.
pub async fn unsubscribe_json(
    State(app): State<AppState>,
    public: Public,
    ApiBody(body): ApiBody<UnsubscribeEnvelope>,
) -> Response {
    cors(unsubscribe_token(&app, &public, &body.subscriber.id).await)
}

/// `DELETE /api/v2/subscribers/<token>.json`.
pub async fn unsubscribe_json_path(
    State(app): State<AppState>,
    public: Public,
    Path(token): Path<String>,
) -> Response {
    let token = token.strip_suffix(".json").unwrap_or(&token);
    cors(unsubscribe_token(&app, &public, token).await)
}

async fn unsubscribe_token(app: &AppState, public: &Public, token: &str) -> Response {
    let sub = match public
        .holder(app, token, &[Purpose::Unsubscribe, Purpose::Manage])
        .await
    {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let ids = [sub.id.clone()];
    match app
        .store()
        .unsubscribe(
            &public.page.id,
            &ids,
            &public.actor(sub.id.as_str()),
            app.now(),
        )
        .await
    {
        Ok(_) => {
            Json(json!({"subscriber": {"id": sub.id, "state": "unsubscribed"}})).into_response()
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

pub(super) fn cors(mut r: Response) -> Response {
    r.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}
