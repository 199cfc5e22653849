//! `/v1/pages/{page_id}/subscribers`: page subscribers (Statuspage's API, plus chat channels,
//! webhook secret rotation and CSV export).

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use herald_domain::actor::Actor;
use herald_domain::id::{ComponentId, PageId, SubscriberId};
use herald_domain::page::Page;
use herald_domain::subscriber::{Channel, NewSubscriber, SubscriberInput, SubscriberState};
use herald_notify::signing;
use herald_store::SubscriberQuery;
use herald_wire::v1::SubscriberV1;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

use super::ErrorBody;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiBody, ApiPath, ApiQuery, ReadPage, WritePage};
use crate::state::AppState;

/// `{"subscriber": {...}}`
#[derive(Debug, Deserialize, ToSchema)]
pub struct SubscriberEnvelope {
    pub subscriber: SubscriberInput,
}

/// Filters of the subscriber list (Statuspage's: `page` is 0-based here).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SubscriberParams {
    /// Text in the email, phone number or endpoint.
    pub q: Option<String>,
    /// `email`, `sms`, `webhook`, `slack`, `teams`, `discord`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub kind: Option<String>,
    /// `active` (default), `unconfirmed`, `quarantined`, `unsubscribed` or `all`.
    pub state: Option<String>,
    /// At most 100.
    pub limit: Option<i64>,
    /// 0-based page.
    pub page: Option<i64>,
}

fn query(
    p: &SubscriberParams,
    default_state: Option<SubscriberState>,
) -> ApiResult<SubscriberQuery> {
    let channel = p
        .kind
        .as_deref()
        .map(|t| Channel::parse("type", t))
        .transpose()?;
    let state = match p.state.as_deref() {
        None => default_state,
        Some("all") => None,
        Some(s) => Some(SubscriberState::parse("state", s)?),
    };
    let limit = p.limit.unwrap_or(100);
    let page = p.page.unwrap_or(0);
    if limit < 1 || page < 0 {
        return Err(ApiError::BadRequest(
            "limit must be 1 or more and page 0 or more".to_owned(),
        ));
    }
    let limit = limit.min(100);
    Ok(SubscriberQuery {
        channel,
        state,
        q: p.q.clone(),
        limit,
        offset: page
            .checked_mul(limit)
            .ok_or_else(|| ApiError::BadRequest("page is too large".to_owned()))?,
    })
}

/// The page's subscribers (default: active ones).
#[utoipa::path(get, path = "/v1/pages/{page_id}/subscribers", tag = "subscribers",
    params(("page_id" = String, Path), SubscriberParams),
    responses((status = 200, body = [SubscriberV1]), (status = 422, body = ErrorBody)))]
pub async fn list_subscribers(
    State(app): State<AppState>,
    ReadPage { page, .. }: ReadPage,
    ApiQuery(p): ApiQuery<SubscriberParams>,
) -> ApiResult<Json<Vec<SubscriberV1>>> {
    let q = query(&p, Some(SubscriberState::Active))?;
    let subs = app.store().list_subscribers(&page.id, &q).await?;
    Ok(Json(
        subs.iter()
            .map(|s| SubscriberV1::new(s, page.zone))
            .collect(),
    ))
}

/// The page's unsubscribed subscribers.
#[utoipa::path(get, path = "/v1/pages/{page_id}/subscribers/unsubscribed", tag = "subscribers",
    params(("page_id" = String, Path), SubscriberParams),
    responses((status = 200, body = [SubscriberV1])))]
pub async fn list_unsubscribed(
    State(app): State<AppState>,
    ReadPage { page, .. }: ReadPage,
    ApiQuery(p): ApiQuery<SubscriberParams>,
) -> ApiResult<Json<Vec<SubscriberV1>>> {
    let mut q = query(&p, None)?;
    q.state = Some(SubscriberState::Unsubscribed);
    let subs = app.store().list_subscribers(&page.id, &q).await?;
    Ok(Json(
        subs.iter()
            .map(|s| SubscriberV1::new(s, page.zone))
            .collect(),
    ))
}

/// Adds a subscriber. Webhook subscribers get their signing secret (`webhook_secret`) in
/// this response only. E-mail and SMS subscribers are sent a confirmation unless
/// `skip_confirmation_notification` is true.
#[utoipa::path(post, path = "/v1/pages/{page_id}/subscribers", tag = "subscribers",
    params(("page_id" = String, Path)), request_body = SubscriberEnvelope,
    responses((status = 201, body = SubscriberV1), (status = 422, body = ErrorBody)))]
pub async fn create_subscriber(
    State(app): State<AppState>,
    WritePage { page, caller }: WritePage,
    ApiBody(body): ApiBody<SubscriberEnvelope>,
) -> ApiResult<(StatusCode, Json<SubscriberV1>)> {
    add_subscriber(
        &app,
        &page,
        &caller.actor,
        &body.subscriber,
        "that subscriber already exists on this page",
    )
    .await
}

/// Adds a subscriber from the API (of the page, or of one incident when `input` names it):
/// parsed with the team's rights, its URL checked against the egress rules, a webhook given
/// its signing secret (answered once), a confirmation sent unless skipped. An existing one
/// is a 409 saying `conflict`.
pub(crate) async fn add_subscriber(
    app: &AppState,
    page: &Page,
    actor: &Actor,
    input: &SubscriberInput,
    conflict: &str,
) -> ApiResult<(StatusCode, Json<SubscriberV1>)> {
    let new = NewSubscriber::parse(input, true)?;
    check_endpoint(app, &new).await?;
    let secret = (new.channel == Channel::Webhook).then(signing::new_secret);
    let (sub, created) = app
        .store()
        .create_subscriber(
            &page.id,
            &new,
            secret.as_deref(),
            !new.confirmed,
            actor,
            app.now(),
        )
        .await?;
    if !created {
        return Err(ApiError::Conflict(conflict.to_owned()));
    }
    let mut v = SubscriberV1::new(&sub, page.zone);
    v.skip_confirmation_notification = new.confirmed && new.channel.needs_confirmation();
    v.webhook_secret = secret;
    Ok((StatusCode::CREATED, Json(v)))
}

/// A subscriber's webhook or chat URL must pass the egress rules when it is saved (a 422
/// naming the field), not only when something is sent to it.
pub(crate) async fn check_endpoint(app: &AppState, new: &NewSubscriber) -> ApiResult<()> {
    if let Some(url) = &new.endpoint {
        app.config()
            .egress
            .check_reachable(url)
            .await
            .map_err(|b| ApiError::Unprocessable {
                field: Some("subscriber.endpoint".into()),
                message: format!("subscriber.endpoint cannot be used: {b}"),
            })?;
    }
    Ok(())
}

/// One subscriber.
#[utoipa::path(get, path = "/v1/pages/{page_id}/subscribers/{subscriber_id}", tag = "subscribers",
    params(("page_id" = String, Path), ("subscriber_id" = String, Path)),
    responses((status = 200, body = SubscriberV1), (status = 404, body = ErrorBody)))]
pub async fn get_subscriber(
    State(app): State<AppState>,
    ReadPage { page, .. }: ReadPage,
    ApiPath((_, id)): ApiPath<(String, SubscriberId)>,
) -> ApiResult<Json<SubscriberV1>> {
    let s = app
        .store()
        .get_subscriber(&page.id, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(SubscriberV1::new(&s, page.zone)))
}

/// `{"component_ids": [...]}`
#[derive(Debug, Deserialize, ToSchema)]
pub struct ComponentsBody {
    #[schema(value_type = Vec<String>)]
    pub component_ids: Vec<ComponentId>,
}

/// Changes which components a subscriber follows.
#[utoipa::path(patch, path = "/v1/pages/{page_id}/subscribers/{subscriber_id}", tag = "subscribers",
    params(("page_id" = String, Path), ("subscriber_id" = String, Path)), request_body = ComponentsBody,
    responses((status = 200, body = SubscriberV1), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_subscriber(
    State(app): State<AppState>,
    WritePage { page, caller }: WritePage,
    ApiPath((_, id)): ApiPath<(String, SubscriberId)>,
    ApiBody(body): ApiBody<ComponentsBody>,
) -> ApiResult<Json<SubscriberV1>> {
    let s = app
        .store()
        .set_subscriber_components(&page.id, &id, &body.component_ids, &caller.actor, app.now())
        .await?;
    Ok(Json(SubscriberV1::new(&s, page.zone)))
}

/// Unsubscribes a subscriber; returns it.
#[utoipa::path(delete, path = "/v1/pages/{page_id}/subscribers/{subscriber_id}", tag = "subscribers",
    params(("page_id" = String, Path), ("subscriber_id" = String, Path)),
    responses((status = 200, body = SubscriberV1), (status = 404, body = ErrorBody)))]
pub async fn delete_subscriber(
    State(app): State<AppState>,
    WritePage { page, caller }: WritePage,
    ApiPath((_, id)): ApiPath<(String, SubscriberId)>,
) -> ApiResult<Json<SubscriberV1>> {
    app.store()
        .get_subscriber(&page.id, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    app.store()
        .unsubscribe(
            &page.id,
            std::slice::from_ref(&id),
            &caller.actor,
            app.now(),
        )
        .await?;
    let s = app
        .store()
        .get_subscriber(&page.id, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(SubscriberV1::new(&s, page.zone)))
}

/// Sends the confirmation again.
#[utoipa::path(post, path = "/v1/pages/{page_id}/subscribers/{subscriber_id}/resend_confirmation", tag = "subscribers",
    params(("page_id" = String, Path), ("subscriber_id" = String, Path)),
    responses((status = 201), (status = 404, body = ErrorBody)))]
pub async fn resend_one(
    State(app): State<AppState>,
    WritePage { page, caller }: WritePage,
    ApiPath((_, id)): ApiPath<(String, SubscriberId)>,
) -> ApiResult<StatusCode> {
    app.store()
        .get_subscriber(&page.id, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    app.store()
        .resend_confirmations(&page.id, &[id], &caller.actor, app.now())
        .await?;
    Ok(StatusCode::CREATED)
}

/// Rotates a webhook subscriber's signing secret (herald extension): the new secret signs
/// from now on; the old one also signs for 24 hours, so receivers can switch without losing a
/// delivery.
#[utoipa::path(post, path = "/v1/pages/{page_id}/subscribers/{subscriber_id}/rotate_secret", tag = "subscribers",
    params(("page_id" = String, Path), ("subscriber_id" = String, Path)),
    responses((status = 200, body = SubscriberV1), (status = 404, body = ErrorBody)))]
pub async fn rotate_secret(
    State(app): State<AppState>,
    WritePage { page, caller }: WritePage,
    ApiPath((_, id)): ApiPath<(String, SubscriberId)>,
) -> ApiResult<Json<SubscriberV1>> {
    let now = app.now();
    let secret = signing::new_secret();
    app.store()
        .rotate_webhook_secret(
            &page.id,
            &id,
            &secret,
            now + chrono::TimeDelta::hours(24),
            &caller.actor,
            now,
        )
        .await?;
    let s = app
        .store()
        .get_subscriber(&page.id, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let mut v = SubscriberV1::new(&s, page.zone);
    v.webhook_secret = Some(secret);
    Ok(Json(v))
}

/// `{"subscribers": "id1,id2" | "all", "type": ..., "state": ...}`
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct BulkBody {
    pub subscribers: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub state: Option<String>,
    pub skip_unsubscription_notification: Option<bool>,
}

async fn bulk_ids(
    app: &AppState,
    page_id: &str,
    b: &BulkBody,
    default_state: SubscriberState,
) -> ApiResult<Vec<SubscriberId>> {
    let list = b.subscribers.as_deref().unwrap_or("").trim();
    if list.is_empty() {
        return Err(ApiError::Unprocessable {
            field: Some("subscribers".into()),
            message: "subscribers must list ids (comma-separated, at most 100) or be \"all\""
                .into(),
        });
    }
    if list == "all" {
        let params = SubscriberParams {
            kind: b.kind.clone(),
            state: b.state.clone(),
            ..SubscriberParams::default()
        };
        let mut q = query(&params, Some(default_state))?;
        q.limit = 100_000;
        return Ok(app
            .store()
            .list_subscribers(&PageId::from(page_id), &q)
            .await?
            .into_iter()
            .map(|s| s.id)
            .collect());
    }
    // A name that cannot be an id names no subscriber (as an unknown id does).
    let names: Vec<&str> = list
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if names.len() > 100 {
        return Err(ApiError::Unprocessable {
            field: Some("subscribers".into()),
            message: format!("at most 100 subscribers at once; got {}", names.len()),
        });
    }
    let ids: Vec<SubscriberId> = names
        .into_iter()
        .filter(|s| herald_domain::id::looks_valid(s))
        .map(SubscriberId::from)
        .collect();
    Ok(ids)
}

/// Unsubscribes many subscribers (at most 100 ids, or `all` with filters).
#[utoipa::path(post, path = "/v1/pages/{page_id}/subscribers/unsubscribe", tag = "subscribers",
    params(("page_id" = String, Path)), request_body = BulkBody,
    responses((status = 202), (status = 422, body = ErrorBody)))]
pub async fn bulk_unsubscribe(
    State(app): State<AppState>,
    WritePage { page, caller }: WritePage,
    ApiBody(b): ApiBody<BulkBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let ids = bulk_ids(&app, page.id.as_str(), &b, SubscriberState::Active).await?;
    let done = app
        .store()
        .unsubscribe(&page.id, &ids, &caller.actor, app.now())
        .await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"subscribers": done}))))
}

/// Reactivates quarantined subscribers.
#[utoipa::path(post, path = "/v1/pages/{page_id}/subscribers/reactivate", tag = "subscribers",
    params(("page_id" = String, Path)), request_body = BulkBody,
    responses((status = 202), (status = 422, body = ErrorBody)))]
pub async fn bulk_reactivate(
    State(app): State<AppState>,
    WritePage { page, caller }: WritePage,
    ApiBody(b): ApiBody<BulkBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let ids = bulk_ids(&app, page.id.as_str(), &b, SubscriberState::Quarantined).await?;
    let done = app
        .store()
        .reactivate_subscribers(&page.id, &ids, &caller.actor, app.now())
        .await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"subscribers": done}))))
}

/// Resends confirmations to unconfirmed subscribers.
#[utoipa::path(post, path = "/v1/pages/{page_id}/subscribers/resend_confirmation", tag = "subscribers",
    params(("page_id" = String, Path)), request_body = BulkBody,
    responses((status = 202), (status = 422, body = ErrorBody)))]
pub async fn bulk_resend(
    State(app): State<AppState>,
    WritePage { page, caller }: WritePage,
    ApiBody(b): ApiBody<BulkBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let ids = bulk_ids(&app, page.id.as_str(), &b, SubscriberState::Unconfirmed).await?;
    let done = app
        .store()
        .resend_confirmations(&page.id, &ids, &caller.actor, app.now())
        .await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"subscribers": done}))))
}

/// Counts by type (`?state=`, default active): `{"email": n, "sms": n, "webhook": n,
/// "integration_partner": 0, "slack": n, "teams": n, "discord": n}`.
#[utoipa::path(get, path = "/v1/pages/{page_id}/subscribers/count", tag = "subscribers",
    params(("page_id" = String, Path), SubscriberParams),
    responses((status = 200, body = Object)))]
pub async fn count(
    State(app): State<AppState>,
    ReadPage { page, .. }: ReadPage,
    ApiQuery(p): ApiQuery<SubscriberParams>,
) -> ApiResult<Json<Value>> {
    let q = query(&p, Some(SubscriberState::Active))?;
    let mut out: BTreeMap<String, i64> = Channel::ALL
        .iter()
        .map(|c| (c.as_str().to_owned(), 0))
        .collect();
    out.insert("integration_partner".into(), 0);
    for (channel, state, n) in app.store().count_subscribers(&page.id).await? {
        let state_ok = q.state.is_none_or(|s| s.as_str() == state);
        let channel_ok = q.channel.is_none_or(|c| c.as_str() == channel);
        if state_ok && channel_ok {
            *out.entry(channel).or_default() += n;
        }
    }
    Ok(Json(json!(out)))
}

/// Counts by type and state: `{"email": {"active": n, "unconfirmed": n, "quarantined": n,
/// "total": n}, ...}`.
#[utoipa::path(get, path = "/v1/pages/{page_id}/subscribers/histogram_by_state", tag = "subscribers",
    params(("page_id" = String, Path)),
    responses((status = 200, body = Object)))]
pub async fn histogram(
    State(app): State<AppState>,
    ReadPage { page, .. }: ReadPage,
) -> ApiResult<Json<Value>> {
    let mut out: BTreeMap<String, BTreeMap<&str, i64>> = BTreeMap::new();
    for c in Channel::ALL
        .iter()
        .map(|c| c.as_str())
        .chain(["integration_partner"])
    {
        out.insert(
            c.to_owned(),
            [
                ("active", 0),
                ("unconfirmed", 0),
                ("quarantined", 0),
                ("total", 0),
            ]
            .into_iter()
            .collect(),
        );
    }
    for (channel, state, n) in app.store().count_subscribers(&page.id).await? {
        if let Some(h) = out.get_mut(&channel) {
            if let Some(slot) = h.get_mut(state.as_str()) {
                *slot += n;
            }
            if state != "unsubscribed" {
                *h.entry("total").or_default() += n;
            }
        }
    }
    Ok(Json(json!(out)))
}

fn csv_field(s: &str) -> String {
    // Quote everything; neutralise spreadsheet formulas (CSV injection).
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Subscribers as CSV, one row each (shared by the API export and the admin UI's).
pub(crate) fn subscribers_csv(
    subs: &[herald_domain::subscriber::Subscriber],
    zone: herald_domain::time::PageZone,
) -> String {
    let mut out = String::from(
        "id,mode,state,email,phone_number,endpoint,components,incident_id,created_at\n",
    );
    for s in subs {
        let fields = [
            s.id.to_string(),
            s.channel.as_str().to_owned(),
            s.state.as_str().to_owned(),
            s.email.clone().unwrap_or_default(),
            s.phone_number.clone().unwrap_or_default(),
            s.endpoint.clone().unwrap_or_default(),
            s.component_ids
                .iter()
                .map(ComponentId::as_str)
                .collect::<Vec<_>>()
                .join(" "),
            s.incident_id
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            zone.format(s.created_at),
        ];
        out.push_str(
            &fields
                .iter()
                .map(|f| csv_field(f))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push('\n');
    }
    out
}

/// Every subscriber as CSV (herald extension; `?state=all` for every state).
#[utoipa::path(get, path = "/v1/pages/{page_id}/subscribers/export.csv", tag = "subscribers",
    params(("page_id" = String, Path), SubscriberParams),
    responses((status = 200, content_type = "text/csv")))]
pub async fn export_csv(
    State(app): State<AppState>,
    ReadPage { page, .. }: ReadPage,
    ApiQuery(p): ApiQuery<SubscriberParams>,
) -> ApiResult<Response> {
    let mut q = query(&p, Some(SubscriberState::Active))?;
    q.limit = 1_000_000;
    q.offset = 0;
    let subs = app.store().list_subscribers(&page.id, &q).await?;
    let out = subscribers_csv(&subs, page.zone);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"subscribers-{}.csv\"", page.slug),
            ),
        ],
        out,
    )
        .into_response())
}
