//! `/v1/pages/{page_id}/incidents/{incident_id}/subscribers`: subscribers of one incident
//! (Statuspage's incident subscriptions: they hear of that incident until it resolves). The
//! same subscribers as the page's list, with `incident_id` set; the same rules (confirmation
//! unless `skip_confirmation_notification`, the same address once per incident).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use herald_domain::id::{IncidentId, PageId, SubscriberId};
use herald_domain::subscriber::Subscriber;

use super::ErrorBody;
use super::dto::SubscriberV1;
use super::subscribers::{SubscriberEnvelope, add_subscriber};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiBody, ApiPath, ReadPage, WritePage};
use crate::state::AppState;

/// The incident, which must be on the page (else 404).
async fn incident_on_page(
    app: &AppState,
    page_id: &str,
    incident_id: &IncidentId,
) -> ApiResult<()> {
    app.store()
        .get_incident(
            &PageId::from(page_id),
            &IncidentId::from(incident_id.as_str()),
        )
        .await?
        .map(|_| ())
        .ok_or(ApiError::NotFound)
}

/// The subscriber, which must follow this incident (else 404).
async fn of_incident(
    app: &AppState,
    page_id: &str,
    incident_id: &IncidentId,
    id: &SubscriberId,
) -> ApiResult<Subscriber> {
    app.store()
        .get_subscriber(&PageId::from(page_id), id)
        .await?
        .filter(|s| s.incident_id.as_ref() == Some(incident_id))
        .ok_or(ApiError::NotFound)
}

/// The incident's subscribers.
#[utoipa::path(get, path = "/v1/pages/{page_id}/incidents/{incident_id}/subscribers", tag = "incident subscribers",
    params(("page_id" = String, Path), ("incident_id" = String, Path)),
    responses((status = 200, body = [SubscriberV1]), (status = 404, body = ErrorBody)))]
pub async fn list_incident_subscribers(
    State(app): State<AppState>,
    ReadPage { page, .. }: ReadPage,
    ApiPath((_, incident_id)): ApiPath<(String, IncidentId)>,
) -> ApiResult<Json<Vec<SubscriberV1>>> {
    incident_on_page(&app, page.id.as_str(), &incident_id).await?;
    let subs = app
        .store()
        .incident_subscribers(&page.id, &incident_id)
        .await?;
    Ok(Json(
        subs.iter()
            .map(|s| SubscriberV1::new(s, page.zone))
            .collect(),
    ))
}

/// Subscribes someone to the incident. E-mail and SMS subscribers are sent a confirmation
/// unless `skip_confirmation_notification` is true.
#[utoipa::path(post, path = "/v1/pages/{page_id}/incidents/{incident_id}/subscribers", tag = "incident subscribers",
    params(("page_id" = String, Path), ("incident_id" = String, Path)), request_body = SubscriberEnvelope,
    responses((status = 201, body = SubscriberV1), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_incident_subscriber(
    State(app): State<AppState>,
    WritePage { page, caller }: WritePage,
    ApiPath((_, incident_id)): ApiPath<(String, IncidentId)>,
    ApiBody(body): ApiBody<SubscriberEnvelope>,
) -> ApiResult<(StatusCode, Json<SubscriberV1>)> {
    incident_on_page(&app, page.id.as_str(), &incident_id).await?;
    let mut input = body.subscriber;
    input.incident_id = Some(incident_id.into_string());
    input.component_ids = None;
    add_subscriber(
        &app,
        &page,
        &caller.actor,
        &input,
        "that subscriber already follows this incident",
    )
    .await
}

/// One subscriber of the incident.
#[utoipa::path(get, path = "/v1/pages/{page_id}/incidents/{incident_id}/subscribers/{subscriber_id}", tag = "incident subscribers",
    params(("page_id" = String, Path), ("incident_id" = String, Path), ("subscriber_id" = String, Path)),
    responses((status = 200, body = SubscriberV1), (status = 404, body = ErrorBody)))]
pub async fn get_incident_subscriber(
    State(app): State<AppState>,
    ReadPage { page, .. }: ReadPage,
    ApiPath((_, incident_id, id)): ApiPath<(String, IncidentId, SubscriberId)>,
) -> ApiResult<Json<SubscriberV1>> {
    let s = of_incident(&app, page.id.as_str(), &incident_id, &id).await?;
    Ok(Json(SubscriberV1::new(&s, page.zone)))
}

/// Unsubscribes a subscriber from the incident; returns it.
#[utoipa::path(delete, path = "/v1/pages/{page_id}/incidents/{incident_id}/subscribers/{subscriber_id}", tag = "incident subscribers",
    params(("page_id" = String, Path), ("incident_id" = String, Path), ("subscriber_id" = String, Path)),
    responses((status = 200, body = SubscriberV1), (status = 404, body = ErrorBody)))]
pub async fn delete_incident_subscriber(
    State(app): State<AppState>,
    WritePage { page, caller }: WritePage,
    ApiPath((_, incident_id, id)): ApiPath<(String, IncidentId, SubscriberId)>,
) -> ApiResult<Json<SubscriberV1>> {
    of_incident(&app, page.id.as_str(), &incident_id, &id).await?;
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

/// Sends the incident subscriber's confirmation again.
#[utoipa::path(post, path = "/v1/pages/{page_id}/incidents/{incident_id}/subscribers/{subscriber_id}/resend_confirmation", tag = "incident subscribers",
    params(("page_id" = String, Path), ("incident_id" = String, Path), ("subscriber_id" = String, Path)),
    responses((status = 201), (status = 404, body = ErrorBody)))]
pub async fn resend_incident_subscriber(
    State(app): State<AppState>,
    WritePage { page, caller }: WritePage,
    ApiPath((_, incident_id, id)): ApiPath<(String, IncidentId, SubscriberId)>,
) -> ApiResult<StatusCode> {
    of_incident(&app, page.id.as_str(), &incident_id, &id).await?;
    app.store()
        .resend_confirmations(&page.id, &[id], &caller.actor, app.now())
        .await?;
    Ok(StatusCode::CREATED)
}
