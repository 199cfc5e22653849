//! The public status page: HTML, the Statuspage v2 JSON API, feeds and embeds, all served
//! from in-memory snapshots.
//!
//! - [`render`] turns a page's data into every public output (bytes, with gzip and brotli
//!   variants and ETags);
//! - [`snapshot`] holds them, swapped in atomically per page;
//! - [`resolve`] finds the output for a request (custom domain, `/p/<slug>/`, default page);
//! - [`publisher`] re-renders a page after each write, on a timer, and on other nodes'
//!   changes (LISTEN/NOTIFY plus a version poll).
//!
//! The server loop (`crate::server`) answers public GETs from the snapshots before routing.

pub mod output;
pub mod publisher;
pub mod render;
pub mod resolve;
pub mod snapshot;

pub use publisher::{Publisher, SnapshotOptions, spawn_tasks};
pub use render::Assets;
pub use snapshot::{SnapshotAge, Snapshots};

use axum::http::{HeaderValue, Method, Response, StatusCode, header};
use bytes::Bytes;
use http_body_util::{Either, Full};

use crate::server::FrontBody;

/// `POST/DELETE /api/v2/subscribers.json`: not implemented until subscriptions land.
pub fn not_implemented(method: &Method) -> Response<FrontBody> {
    let (status, msg) = if method == Method::POST || method == Method::DELETE {
        (
            StatusCode::NOT_IMPLEMENTED,
            "Subscribing through the public API is not available yet.",
        )
    } else {
        (StatusCode::METHOD_NOT_ALLOWED, "Method not allowed.")
    };
    let body = serde_json::json!({"error": msg, "message": msg}).to_string();
    let mut r = Response::new(Either::Left(Full::new(Bytes::from(body))));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}
