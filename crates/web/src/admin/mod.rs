//! The admin UI at `/admin`: server-rendered forms for the people on call, usable without
//! JavaScript. Every write goes through the same store functions as the v1 API (one
//! transaction, one audit entry, notifications enqueued in it) and then re-renders the
//! public snapshot before answering, exactly as the API does.
//!
//! Security: a session cookie (`HttpOnly; SameSite=Lax`, `Secure` behind https) whose token
//! is stored hashed; every state-changing request must come from this origin
//! (`Sec-Fetch-Site`/`Origin`) *and* carry the session's CSRF token; no GET changes state;
//! every response carries a strict CSP (scripts only from `/admin/admin.js`, never inline),
//! `frame-ancestors 'none'`, `Referrer-Policy` and `Cache-Control: no-store`. The script is
//! progressive enhancement (markdown preview, keyboard shortcuts): every screen works
//! without it.

mod account;
mod automation;
mod automation_form;
mod components;
mod confirm;
mod deliveries;
mod form;
mod groups;
mod incident_delete;
mod incident_templates;
mod incident_view;
mod incidents;
mod manage;
mod metrics;
mod preview;
mod session;
mod settings;
mod subscribers;
mod team;
mod updates;
mod views;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::error::{ErrorWords, PageError, PageResult};
use crate::state::AppState;

pub use session::SESSION_COOKIE;

/// The admin routes, to be nested at `/admin`.
pub fn router(state: AppState) -> Router<AppState> {
    let p = "/pages/{page_id}";
    Router::new()
        .route("/", get(manage::dashboard))
        .route("/admin.css", get(stylesheet))
        .route("/admin.js", get(script))
        .route("/preview", post(preview::preview))
        .route("/login", get(account::login_form).post(account::login))
        .route("/logout", post(account::logout))
        .route("/logout-everywhere", post(account::logout_everywhere))
        .route(
            "/password",
            get(account::password_form).post(account::change_password),
        )
        .route("/audit", get(manage::audit))
        .route("/keys", get(manage::keys).post(manage::create_key))
        .route("/keys/{key_id}/revoke", post(manage::revoke_key))
        .route("/team", get(team::team).post(team::add_member))
        .route("/team/{user_id}/role", post(team::set_role))
        .route(p, get(manage::page))
        .route(
            &format!("{p}/components"),
            get(groups::components_screen).post(components::create_component),
        )
        .route(
            &format!("{p}/components/{{component_id}}/move"),
            post(groups::move_component),
        )
        .route(
            &format!("{p}/components/{{component_id}}/delete"),
            get(groups::confirm_delete).post(groups::delete_component),
        )
        .route(&format!("{p}/groups"), post(groups::create_group))
        .route(
            &format!("{p}/groups/{{group_id}}"),
            post(groups::save_group),
        )
        .route(
            &format!("{p}/settings"),
            get(settings::settings).post(settings::save_settings),
        )
        .route(
            &format!("{p}/subscribers"),
            get(subscribers::subscribers).post(subscribers::add_subscriber),
        )
        .route(
            &format!("{p}/subscribers/export.csv"),
            get(subscribers::export_csv),
        )
        // A file of up to 10 MiB (`route_layer`: the route table ends at the first `.layer`).
        .route(
            &format!("{p}/subscribers/import"),
            post(subscribers::import_subscribers)
                .route_layer(DefaultBodyLimit::max(crate::routes::UPLOAD_LIMIT)),
        )
        .route(
            &format!("{p}/subscribers/{{subscriber_id}}"),
            get(deliveries::subscriber_log),
        )
        .route(
            &format!("{p}/subscribers/{{subscriber_id}}/unsubscribe"),
            post(subscribers::unsubscribe),
        )
        .route(
            &format!("{p}/automation"),
            get(automation::automation).post(automation::create_integration),
        )
        .route(
            &format!("{p}/automation/{{integration_id}}/delete"),
            get(automation::confirm_delete).post(automation::delete_integration),
        )
        .route(
            &format!("{p}/metrics"),
            get(metrics::metrics).post(metrics::create_metric),
        )
        .route(
            &format!("{p}/metrics/{{metric_id}}/preview.svg"),
            get(metrics::preview),
        )
        .route(
            &format!("{p}/metrics/{{metric_id}}/delete"),
            get(metrics::confirm_delete).post(metrics::delete_metric),
        )
        .route(&format!("{p}/deliveries"), get(deliveries::page_log))
        .route(
            &format!("{p}/deliveries/{{delivery_id}}/replay"),
            post(deliveries::replay),
        )
        .route(
            &format!("{p}/templates"),
            get(incident_templates::list_templates).post(incident_templates::create_template),
        )
        .route(
            &format!("{p}/templates/{{template_id}}"),
            get(incident_templates::edit_template).post(incident_templates::save_template),
        )
        .route(
            &format!("{p}/templates/{{template_id}}/delete"),
            get(incident_templates::confirm_delete).post(incident_templates::delete_template),
        )
        .route(
            &format!("{p}/components/{{component_id}}"),
            get(components::edit_component).post(components::save_component),
        )
        .route(
            &format!("{p}/components/{{component_id}}/status"),
            post(components::set_component_status),
        )
        .route(
            &format!("{p}/incidents/new"),
            get(incidents::new_incident).post(incidents::create_incident),
        )
        .route(
            &format!("{p}/maintenance/new"),
            get(incidents::new_maintenance).post(incidents::create_maintenance),
        )
        .route(
            &format!("{p}/incidents/{{incident_id}}"),
            get(incident_view::show_incident),
        )
        .route(
            &format!("{p}/incidents/{{incident_id}}/delete"),
            get(incident_delete::confirm_delete).post(incident_delete::delete_incident),
        )
        .route(
            &format!("{p}/incidents/{{incident_id}}/updates"),
            post(updates::post_update),
        )
        .route(
            &format!("{p}/incidents/{{incident_id}}/postmortem"),
            post(updates::postmortem),
        )
        .layer(axum::middleware::from_fn_with_state(state, guard))
}

/// The CSP of every admin response: scripts and styles from herald's own files only (no
/// inline script, no `eval`), requests (the preview) to herald only, forms post to herald
/// only, never framed.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
    connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; \
    object-src 'none'";

/// Refuses cross-site state changes and sets the security headers of every admin response.
async fn guard(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe && !same_origin(&app, &req) {
        return dress(
            PageError::Forbidden("This request did not come from this site.".into())
                .into_response(),
        );
    }
    let mut res = dress(next.run(req).await);
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // HSTS, behind https, is set by the server loop on every response (`crate::server`).
    res
}

/// Whether a state-changing request comes from herald's own pages: browsers send
/// `Sec-Fetch-Site` and `Origin`; when present they must say so. (Clients that send neither
/// are not browsers and cannot be forged into sending the session cookie and CSRF token.)
fn same_origin(app: &AppState, req: &Request) -> bool {
    let h = req.headers();
    if let Some(site) = h.get("sec-fetch-site")
        && site.as_bytes() != b"same-origin"
    {
        return false;
    }
    let Some(origin) = h.get(header::ORIGIN) else {
        return true;
    };
    let origin = origin.to_str().unwrap_or("");
    let public = app.config().public_url.trim_end_matches('/');
    let own = origin_of(public);
    let by_host = h
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(|host| {
            let scheme = if public.starts_with("https://") {
                "https"
            } else {
                "http"
            };
            format!("{scheme}://{host}")
        });
    origin == own || by_host.as_deref() == Some(origin)
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> &str {
    let after = url.find("://").map_or(0, |i| i + 3);
    match url[after..].find('/') {
        Some(i) => &url[..after + i],
        None => url,
    }
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        include_str!("../../assets/admin.css"),
    )
}

async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        include_str!("../../assets/admin.js"),
    )
}

/// A rendered template, answered with 200.
fn html(t: &impl askama::Template) -> PageResult {
    Ok(Html(t.render()?).into_response())
}

/// A form's page: 200, or 422 when it came back with messages to fix.
fn form_page(has_errors: bool, t: &impl askama::Template) -> PageResult {
    crate::error::form_page(has_errors, Html(t.render()?))
}

/// After a successful form: back to a page (303, so a reload does not re-post).
fn see_other(to: &str) -> PageResult {
    Ok(Redirect::to(to).into_response())
}

/// A plain error page (404, 403, 503...) in the admin's look: the same status and headers,
/// the same words, on the admin's message page.
fn dress(mut res: Response) -> Response {
    let Some(words) = res.extensions_mut().remove::<ErrorWords>() else {
        return res;
    };
    let page = views::Message {
        title: words.title.to_owned(),
        text: words.text,
    };
    match askama::Template::render(&page) {
        Ok(body) => {
            let (mut parts, _) = res.into_parts();
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, axum::body::Body::from(body))
        }
        Err(e) => {
            tracing::error!(error = %e, "admin message page failed");
            res
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn origins_are_scheme_host_and_port() {
        assert_eq!(
            super::origin_of("https://status.example.com/x"),
            "https://status.example.com"
        );
        assert_eq!(
            super::origin_of("http://127.0.0.1:8080"),
            "http://127.0.0.1:8080"
        );
    }
}
