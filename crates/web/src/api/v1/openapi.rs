//! The OpenAPI 3 document of the management API, generated from the handlers and types
//! themselves (utoipa), served at `/v1/openapi.json`. A test checks it against the route
//! table, so a route cannot exist undocumented or be documented without existing.

use axum::Json;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{components, groups, incidents, jobs, pages, postmortem, subscribers, templates};

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Herald management API (Statuspage-compatible v1)",
        version = "1",
        description = "Manage pages, components, incidents, maintenances, postmortems and templates. \
            Authenticate with `Authorization: OAuth <key>` (or `Bearer <key>`, or `?api_key=<key>`). \
            Request bodies are wrapped in the resource name (`{\"component\": {...}}`) and may be JSON or \
            Rails-style form encoded; responses are bare objects and arrays. Every path also answers with \
            a `.json` suffix. Rate limit: 60 requests per minute per key (429 with Retry-After)."
    ),
    paths(
        pages::list_pages, pages::get_page, pages::update_page,
        components::list_components, components::create_component, components::get_component,
        components::update_component, components::delete_component,
        groups::list_groups, groups::create_group, groups::get_group, groups::update_group, groups::delete_group,
        incidents::list_incidents, incidents::list_unresolved, incidents::list_upcoming,
        incidents::list_active_maintenance, incidents::list_scheduled, incidents::create_incident,
        incidents::get_incident, incidents::update_incident, incidents::delete_incident,
        incidents::update_incident_update,
        postmortem::get_postmortem, postmortem::save_postmortem, postmortem::publish, postmortem::revert,
        postmortem::delete_postmortem,
        templates::list_templates, templates::create_template, templates::get_template, templates::delete_template,
        jobs::list_jobs, jobs::get_job, jobs::replay_job, jobs::cancel_job,
        subscribers::list_subscribers, subscribers::list_unsubscribed, subscribers::create_subscriber,
        subscribers::get_subscriber, subscribers::update_subscriber, subscribers::delete_subscriber,
        subscribers::resend_one, subscribers::rotate_secret, subscribers::bulk_unsubscribe,
        subscribers::bulk_reactivate, subscribers::bulk_resend, subscribers::count, subscribers::histogram,
        subscribers::export_csv,
    ),
    modifiers(&Auth),
    security(("oauth" = []), ("api_key" = [])),
)]
pub struct ApiDoc;

struct Auth;

impl Modify for Auth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let c = doc.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "oauth",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "`OAuth <key>` (also `Bearer <key>`)",
            ))),
        );
        c.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::new("api_key"))),
        );
    }
}

/// `GET /v1/openapi.json`.
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
