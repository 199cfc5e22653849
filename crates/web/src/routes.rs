//! The whole URL surface of herald, in one table.

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post, put};
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::api::hooks;
use crate::api::v1::{
    components, embed, groups, incident_subscribers, incidents, integrations, jobs, metric_data,
    metrics, openapi, pages, postmortem, subscriber_import, subscribers, templates, uptime,
};
use crate::error::ApiError;
use crate::health;
use crate::state::AppState;
use crate::subscriptions;

/// Largest request body accepted (incident bodies are at most 25,000 characters).
pub(crate) const BODY_LIMIT: usize = 1024 * 1024;
/// Largest upload (the subscriber import): 100,000 subscribers are about 4 MB of CSV.
pub(crate) const UPLOAD_LIMIT: usize = 10 * 1024 * 1024;
/// Longest a request may take before the client gets a 503.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Every route.
pub fn router(state: AppState) -> Router {
    let p = "/pages/{page_id}";
    let v1 = Router::new()
        .route("/pages", get(pages::list_pages))
        .route(
            p,
            get(pages::get_page)
                .patch(pages::update_page)
                .put(pages::update_page),
        )
        .route(
            &format!("{p}/status_embed_config"),
            get(embed::get_embed_config)
                .patch(embed::update_embed_config)
                .put(embed::update_embed_config),
        )
        .route(
            &format!("{p}/components"),
            get(components::list_components).post(components::create_component),
        )
        .route(
            &format!("{p}/components/{{component_id}}"),
            get(components::get_component)
                .patch(components::update_component)
                .put(components::update_component)
                .delete(components::delete_component),
        )
        .route(
            &format!("{p}/components/{{component_id}}/uptime"),
            get(uptime::component_uptime),
        )
        .route(
            &format!("{p}/component-groups/{{group_id}}/uptime"),
            get(uptime::group_uptime),
        )
        .route(
            &format!("{p}/component-groups"),
            get(groups::list_groups).post(groups::create_group),
        )
        .route(
            &format!("{p}/component-groups/{{group_id}}"),
            get(groups::get_group)
                .patch(groups::update_group)
                .put(groups::update_group)
                .delete(groups::delete_group),
        )
        .route(
            &format!("{p}/incidents"),
            get(incidents::list_incidents).post(incidents::create_incident),
        )
        .route(
            &format!("{p}/incidents/unresolved"),
            get(incidents::list_unresolved),
        )
        .route(
            &format!("{p}/incidents/upcoming"),
            get(incidents::list_upcoming),
        )
        .route(
            &format!("{p}/incidents/active_maintenance"),
            get(incidents::list_active_maintenance),
        )
        .route(
            &format!("{p}/incidents/scheduled"),
            get(incidents::list_scheduled),
        )
        .route(
            &format!("{p}/incidents/{{incident_id}}"),
            get(incidents::get_incident)
                .patch(incidents::update_incident)
                .put(incidents::update_incident)
                .delete(incidents::delete_incident),
        )
        .route(
            &format!("{p}/incidents/{{incident_id}}/incident_updates/{{incident_update_id}}"),
            patch(incidents::update_incident_update).put(incidents::update_incident_update),
        )
        .route(
            &format!("{p}/incidents/{{incident_id}}/subscribers"),
            get(incident_subscribers::list_incident_subscribers)
                .post(incident_subscribers::create_incident_subscriber),
        )
        .route(
            &format!("{p}/incidents/{{incident_id}}/subscribers/{{subscriber_id}}"),
            get(incident_subscribers::get_incident_subscriber)
                .delete(incident_subscribers::delete_incident_subscriber),
        )
        .route(
            &format!(
                "{p}/incidents/{{incident_id}}/subscribers/{{subscriber_id}}/resend_confirmation"
            ),
            post(incident_subscribers::resend_incident_subscriber),
        )
        .route(
            &format!("{p}/incidents/{{incident_id}}/postmortem"),
            get(postmortem::get_postmortem)
                .put(postmortem::save_postmortem)
                .delete(postmortem::delete_postmortem),
        )
        .route(
            &format!("{p}/incidents/{{incident_id}}/postmortem/publish"),
            put(postmortem::publish),
        )
        .route(
            &format!("{p}/incidents/{{incident_id}}/postmortem/revert"),
            put(postmortem::revert),
        )
        .route(
            &format!("{p}/incident_templates"),
            get(templates::list_templates).post(templates::create_template),
        )
        .route(
            &format!("{p}/incident_templates/{{template_id}}"),
            get(templates::get_template).delete(templates::delete_template),
        )
        .route(
            &format!("{p}/integrations"),
            get(integrations::list_integrations).post(integrations::create_integration),
        )
        .route(
            &format!("{p}/integrations/{{integration_id}}"),
            get(integrations::get_integration)
                .patch(integrations::update_integration)
                .put(integrations::update_integration)
                .delete(integrations::delete_integration),
        )
        .route(
            &format!("{p}/subscribers"),
            get(subscribers::list_subscribers).post(subscribers::create_subscriber),
        )
        .route(
            &format!("{p}/subscribers/unsubscribed"),
            get(subscribers::list_unsubscribed),
        )
        .route(&format!("{p}/subscribers/count"), get(subscribers::count))
        .route(
            &format!("{p}/subscribers/histogram_by_state"),
            get(subscribers::histogram),
        )
        .route(
            &format!("{p}/subscribers/export.csv"),
            get(subscribers::export_csv),
        )
        .route(
            &format!("{p}/subscribers/import"),
            post(subscriber_import::import_subscribers).layer(DefaultBodyLimit::max(UPLOAD_LIMIT)),
        )
        .route(
            &format!("{p}/subscribers/unsubscribe"),
            post(subscribers::bulk_unsubscribe),
        )
        .route(
            &format!("{p}/subscribers/reactivate"),
            post(subscribers::bulk_reactivate),
        )
        .route(
            &format!("{p}/subscribers/resend_confirmation"),
            post(subscribers::bulk_resend),
        )
        .route(
            &format!("{p}/subscribers/{{subscriber_id}}"),
            get(subscribers::get_subscriber)
                .patch(subscribers::update_subscriber)
                .delete(subscribers::delete_subscriber),
        )
        .route(
            &format!("{p}/subscribers/{{subscriber_id}}/resend_confirmation"),
            post(subscribers::resend_one),
        )
        .route(
            &format!("{p}/subscribers/{{subscriber_id}}/rotate_secret"),
            post(subscribers::rotate_secret),
        )
        .route(
            &format!("{p}/metrics_providers"),
            get(metrics::list_providers).post(metrics::create_provider),
        )
        .route(
            &format!("{p}/metrics_providers/{{metrics_provider_id}}"),
            get(metrics::get_provider)
                .patch(metrics::update_provider)
                .put(metrics::update_provider)
                .delete(metrics::delete_provider),
        )
        .route(
            &format!("{p}/metrics_providers/{{metrics_provider_id}}/metrics"),
            get(metrics::list_provider_metrics).post(metrics::create_metric),
        )
        .route(&format!("{p}/metrics"), get(metrics::list_metrics))
        .route(&format!("{p}/metrics/data"), post(metric_data::add_points))
        .route(
            &format!("{p}/metrics/{{metric_id}}"),
            get(metrics::get_metric)
                .patch(metrics::update_metric)
                .put(metrics::update_metric)
                .delete(metrics::delete_metric),
        )
        .route(
            &format!("{p}/metrics/{{metric_id}}/data"),
            post(metric_data::add_point).delete(metric_data::reset_data),
        )
        .route("/jobs", get(jobs::list_jobs))
        .route("/jobs/{job_id}", get(jobs::get_job))
        .route("/jobs/{job_id}/replay", post(jobs::replay_job))
        .route("/jobs/{job_id}/cancel", post(jobs::cancel_job))
        .route("/openapi.json", get(openapi::openapi_json))
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        // API answers hold secrets (webhook signing secrets, subscriber exports) and tenant
        // data: no browser or shared cache may keep any of them.
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));

    Router::new()
        .nest("/v1", v1)
        .nest("/admin", crate::admin::router(state.clone()))
        .route("/livez", get(health::livez))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/docs/webhooks.md", get(webhook_docs))
        // Alerts and pings from integrations (token-authenticated; bodies up to 8 MiB).
        .route(
            "/hooks/{integration_id}",
            post(hooks::receive)
                .get(hooks::ping)
                .layer(DefaultBodyLimit::max(hooks::HOOK_BODY_LIMIT)),
        )
        // Public subscription pages: the front resolves the page (host or /p/<slug>/) and
        // passes the path below the page's root.
        .route("/subscriptions", post(subscriptions::subscribe_form))
        .route(
            "/subscriptions/confirm/{token}",
            get(subscriptions::confirm_page).post(subscriptions::confirm),
        )
        .route(
            "/subscriptions/unsubscribe/{token}",
            get(subscriptions::unsubscribe_page).post(subscriptions::unsubscribe),
        )
        .route(
            "/subscriptions/{token}",
            get(subscriptions::manage_page).post(subscriptions::manage_save),
        )
        .route(
            "/api/v2/subscribers.json",
            post(subscriptions::subscribe_json).delete(subscriptions::unsubscribe_json),
        )
        .route(
            "/api/v2/subscribers/{token}",
            delete(subscriptions::unsubscribe_json_path),
        )
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            health::track,
        ))
        .with_state(state)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            REQUEST_TIMEOUT,
        ))
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("a handler panicked");
            ApiError::Internal.into_response()
        }))
        .layer(trace_layer())
}

/// Request tracing. Its span names the method and the path, never the query string, which
/// could carry a secret (a key someone put in `?api_key=`, a token).
fn trace_layer()
-> TraceLayer<SharedClassifier<ServerErrorsAsFailures>, fn(&Request) -> tracing::Span> {
    TraceLayer::new_for_http().make_span_with(request_span as fn(&Request) -> tracing::Span)
}

fn request_span(req: &Request) -> tracing::Span {
    tracing::debug_span!("request", method = %req.method(), path = %req.uri().path())
}

/// What a worker-only node serves: health and metrics, nothing else.
pub fn health_router(state: AppState) -> Router {
    let hsts = state
        .config()
        .https()
        .then(|| HeaderValue::from_static("max-age=31536000"));
    Router::new()
        .route("/livez", get(health::livez))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            health::track,
        ))
        .with_state(state)
        .layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            hsts,
        ))
        .layer(trace_layer())
}

/// How herald's webhooks are delivered and signed (the `meta.documentation` of payloads).
async fn webhook_docs() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/markdown; charset=utf-8")],
        include_str!("../../../docs/webhooks.md"),
    )
}

async fn not_found() -> Response {
    crate::error::PageError::NotFound.into_response()
}
