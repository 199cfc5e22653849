//! `POST /admin/preview`: a markdown message rendered as the public page will show it, by the
//! same sanitiser (`herald_domain::markdown::to_html`). Used by `admin.js` for the live
//! preview; it changes nothing, but it is a POST with the CSRF token like every form.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::session::Posted;

/// Largest message previewed (the incident body limit).
const MAX: usize = 25_000;

/// The sanitised HTML of the `body` field.
pub(super) async fn preview(p: Posted) -> Response {
    let body = p.fields.get("body");
    if body.chars().count() > MAX {
        return (StatusCode::PAYLOAD_TOO_LARGE, "message too long").into_response();
    }
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        herald_domain::markdown::to_html(body),
    )
        .into_response()
}
