//! The OpenAPI 3.1 document of the management API, generated from the handlers and types
//! themselves (utoipa), served at `/v1/openapi.json`. Tests check it against the route
//! table (a route cannot exist undocumented or be documented without existing), validate it
//! with `openapi-spec-validator`, and run schemathesis against a live herald with it.
//!
//! The error answers are declared here once, for every operation that can give them
//! ([`Errors`]): each handler's annotation lists only what it answers on success.

use axum::Json;
use utoipa::openapi::header::Header;
use utoipa::openapi::path::{Operation, ParameterIn, PathItem};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Type};
use utoipa::{Modify, OpenApi};

use super::ErrorBody;

use super::{
    components, embed, groups, incident_subscribers, incidents, integrations, jobs, metric_data,
    metrics, pages, postmortem, subscriber_import, subscribers, templates, uptime,
};

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Herald management API (Statuspage-compatible v1)",
        version = "1",
        description = "Manage pages, components, incidents, maintenances, postmortems and templates. \
            Authenticate with `Authorization: OAuth <key>` (or `Bearer <key>`); a key in the URL (`?api_key=`) \
            is refused with 401, as URLs end up in logs. \
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
        integrations::list_integrations, integrations::create_integration, integrations::get_integration,
        integrations::update_integration, integrations::delete_integration,
        jobs::list_jobs, jobs::get_job, jobs::replay_job, jobs::cancel_job,
        subscribers::list_subscribers, subscribers::list_unsubscribed, subscribers::create_subscriber,
        subscribers::get_subscriber, subscribers::update_subscriber, subscribers::delete_subscriber,
        subscribers::resend_one, subscribers::rotate_secret, subscribers::bulk_unsubscribe,
        subscribers::bulk_reactivate, subscribers::bulk_resend, subscribers::count, subscribers::histogram,
        subscribers::export_csv, subscriber_import::import_subscribers,
        metrics::list_providers, metrics::create_provider, metrics::get_provider, metrics::update_provider,
        metrics::delete_provider, metrics::list_provider_metrics, metrics::create_metric, metrics::list_metrics,
        metrics::get_metric, metrics::update_metric, metrics::delete_metric,
        metric_data::add_point, metric_data::add_points, metric_data::reset_data,
        uptime::component_uptime, uptime::group_uptime,
        embed::get_embed_config, embed::update_embed_config,
        incident_subscribers::list_incident_subscribers, incident_subscribers::create_incident_subscriber,
        incident_subscribers::get_incident_subscriber, incident_subscribers::delete_incident_subscriber,
        incident_subscribers::resend_incident_subscriber,
    ),
    components(schemas(ErrorBody)),
    modifiers(&Auth, &Errors, &UniqueIds),
    security(("oauth" = [])),
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
    }
}

/// The error answers, by status: (status, component name, description). Their body is
/// always [`ErrorBody`].
const ERRORS: &[(&str, &str, &str)] = &[
    (
        "400",
        "BadRequest",
        "The request is malformed: JSON that does not parse, or a query parameter that is not a valid value.",
    ),
    (
        "401",
        "Unauthorized",
        "No key, a key herald does not know or that was revoked, or a key in the URL (`?api_key=`).",
    ),
    (
        "403",
        "Forbidden",
        "The key may not do this: a read-only key on a write, or a key for some pages on instance-wide jobs.",
    ),
    (
        "404",
        "NotFound",
        "No such object, or not one this key may see (another tenant's page answers the same).",
    ),
    (
        "409",
        "Conflict",
        "Clashes with existing data: a slug or domain another page has, a subscriber that exists already.",
    ),
    (
        "413",
        "PayloadTooLarge",
        "The request body is larger than 1 MiB (10 MiB for a subscriber import).",
    ),
    (
        "415",
        "UnsupportedMediaType",
        "The body is neither JSON nor `application/x-www-form-urlencoded` (a subscriber import: neither JSON nor `text/csv`).",
    ),
    (
        "422",
        "Unprocessable",
        "The request is well-formed but breaks a rule; `field` names the offending field.",
    ),
    (
        "429",
        "TooManyRequests",
        "The key's rate limit is reached; `Retry-After` gives the seconds to wait.",
    ),
    (
        "503",
        "Unavailable",
        "The database cannot be reached; retry after a moment.",
    ),
];

/// Declares the error answers every operation can give, and gives every response a
/// description (OpenAPI requires one; the handlers' annotations name only status and body).
struct Errors;

/// Which error statuses `op`, a `method` on `path`, can answer.
fn error_statuses(path: &str, method: &str, op: &Operation) -> Vec<&'static str> {
    let mut out = vec!["401", "429", "503"];
    if path.contains('{') {
        out.push("404");
    }
    if method != "get" {
        out.push("403");
    }
    let has_query = op
        .parameters
        .iter()
        .flatten()
        .any(|p| matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Query));
    if has_query {
        out.extend(["400", "422"]);
    }
    if op.request_body.is_some() {
        out.extend(["400", "409", "413", "415", "422"]);
    }
    out
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = (&'static str, &mut Operation)> {
    [
        ("get", item.get.as_mut()),
        ("post", item.post.as_mut()),
        ("patch", item.patch.as_mut()),
        ("put", item.put.as_mut()),
        ("delete", item.delete.as_mut()),
    ]
    .into_iter()
    .filter_map(|(m, op)| op.map(|op| (m, op)))
}

/// Makes operation ids unique: a handler that serves two methods (`PATCH` and `PUT`) is one
/// function, so utoipa gives both operations its name; the second gets `_<method>` added.
struct UniqueIds;

impl Modify for UniqueIds {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let mut seen = std::collections::HashSet::new();
        for item in doc.paths.paths.values_mut() {
            for (method, op) in operations(item) {
                if let Some(id) = &mut op.operation_id
                    && !seen.insert(id.clone())
                {
                    id.push('_');
                    id.push_str(method);
                }
            }
        }
    }
}

/// The description of a success status.
fn success_description(status: &str) -> &'static str {
    match status {
        "200" => "OK",
        "201" => "Created",
        "202" => "Accepted: the change is made or queued",
        "204" => "No Content",
        _ => "Answer",
    }
}

fn error_response(status: &str, description: &str) -> Response {
    let mut r = ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("ErrorBody")))
            .build(),
    );
    if status == "429" {
        r = r.header(
            "Retry-After",
            Header::new(utoipa::openapi::Object::with_type(Type::Integer)),
        );
    }
    r.build()
}

impl Modify for Errors {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let c = doc.components.get_or_insert_with(Default::default);
        for (status, name, description) in ERRORS {
            c.responses.insert(
                (*name).to_owned(),
                RefOr::T(error_response(status, description)),
            );
        }
        for (path, item) in doc.paths.paths.iter_mut() {
            for (method, op) in operations(item) {
                for status in error_statuses(path, method, op) {
                    if let Some((_, name, _)) = ERRORS.iter().find(|(s, _, _)| *s == status) {
                        op.responses.responses.insert(
                            status.to_owned(),
                            RefOr::Ref(Ref::from_response_name(*name)),
                        );
                    }
                }
                for (status, r) in op.responses.responses.iter_mut() {
                    if let RefOr::T(r) = r
                        && r.description.is_empty()
                    {
                        r.description = match ERRORS.iter().find(|(s, _, _)| s == status) {
                            Some((_, _, d)) => (*d).to_owned(),
                            None => success_description(status).to_owned(),
                        };
                    }
                }
            }
        }
    }
}

/// `GET /v1/openapi.json`.
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
