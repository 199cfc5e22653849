//! `POST /admin/preview`: a markdown message rendered as the public page will show it, by the
//! same sanitiser (`herald_domain::markdown::to_html`). Used by `admin.js` for the live
//! preview; it changes nothing, but it is a POST with the CSRF token like every form.

use axum::response::{Html, IntoResponse};

use super::session::Posted;

use crate::error::{PageError, PageResult};

/// Largest message previewed (the incident body limit).
const MAX: usize = 25_000;

/// The sanitised HTML of the `body` field.
pub(super) async fn preview(p: Posted) -> PageResult {
    let body = p.fields.get("body");
    if body.chars().count() > MAX {
        return Err(PageError::PayloadTooLarge(
            "The message is too long.".into(),
        ));
    }
    Ok(Html(herald_domain::markdown::to_html(body)).into_response())
}
