//! `ApiError`: the one place HTTP status codes are chosen for the JSON APIs.
//!
//! Bodies follow Statuspage: `{"error": "...", "message": "..."}` with the same sentence in
//! both keys (clients read one or the other), plus `field` on validation errors. Internal
//! details are logged here, once, and never sent.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use herald_domain::Invalid;
use herald_store::StoreError;
use serde_json::json;

/// Seconds a client is asked to wait before retrying when the database is unavailable.
pub const UNAVAILABLE_RETRY_AFTER: u64 = 5;

/// An error answered by a JSON API.
#[derive(Debug)]
pub enum ApiError {
    /// 400: the request is malformed (bad JSON, bad query parameter).
    BadRequest(String),
    /// 401: no key, or a key herald does not know.
    Unauthorized,
    /// 401: the key came in the URL (`?api_key=`), where it would be written to access logs
    /// of herald, proxies and browsers; it is refused whether it is valid or not.
    KeyInUrl,
    /// 403: the key may not do this (read-only key on a write).
    Forbidden,
    /// 404: no such thing, or not visible to this key.
    NotFound,
    /// 405.
    MethodNotAllowed,
    /// 409: clashes with existing data.
    Conflict(String),
    /// 413.
    PayloadTooLarge,
    /// 415: a body that is neither JSON nor a form.
    UnsupportedMediaType(String),
    /// 422: well-formed but breaks a rule.
    Unprocessable {
        field: Option<String>,
        message: String,
    },
    /// 422: an upload with bad rows, each named by its place (nothing was imported).
    Rows(herald_domain::subscriber::import::Rejected),
    /// 429, with the seconds to wait and the limit that was reached, in words (`60 requests
    /// per minute per API key`).
    TooManyRequests { retry_after: u64, limit: String },
    /// 503: the database is unreachable.
    Unavailable,
    /// 500: a bug; details were logged.
    Internal,
}

impl ApiError {
    /// The status and the readable message.
    pub(crate) fn parts(&self) -> (StatusCode, String) {
        match self {
            Self::BadRequest(m) => (StatusCode::BAD_REQUEST, m.clone()),
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, "Could not authenticate".into()),
            Self::KeyInUrl => (
                StatusCode::UNAUTHORIZED,
                "API keys are not accepted in the URL (?api_key=), where logs keep them; send the key in the Authorization header: `Authorization: OAuth <key>`.".into(),
            ),
            Self::Forbidden => (
                StatusCode::FORBIDDEN,
                "You are not authorized to access this resource.".into(),
            ),
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                "The requested resource could not be found.".into(),
            ),
            Self::MethodNotAllowed => {
                (StatusCode::METHOD_NOT_ALLOWED, "Method not allowed.".into())
            }
            Self::Conflict(m) => (StatusCode::CONFLICT, m.clone()),
            Self::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "The request body is too large.".into(),
            ),
            Self::UnsupportedMediaType(m) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, m.clone()),
            Self::Unprocessable { message, .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, message.clone())
            }
            Self::Rows(r) => (StatusCode::UNPROCESSABLE_ENTITY, r.message()),
            Self::TooManyRequests { retry_after, limit } => (
                StatusCode::TOO_MANY_REQUESTS,
                format!("Rate limit exceeded: retry in {retry_after} s (the limit is {limit})."),
            ),
            Self::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "The service is temporarily unavailable; try again shortly.".into(),
            ),
            Self::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side; it has been logged.".into(),
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = self.parts();
        let mut body = json!({"error": message, "message": message});
        if let Self::Unprocessable { field: Some(f), .. } = &self {
            body["field"] = json!(f);
        }
        if let Self::Rows(r) = &self {
            if let Some(first) = r.errors.first() {
                body["field"] = json!(first.field);
            }
            body["errors"] = r
                .errors
                .iter()
                .map(|e| {
                    let (k, n) = e.at.key();
                    let mut row = serde_json::Map::new();
                    row.insert(k.to_owned(), json!(n));
                    row.insert("field".to_owned(), json!(e.field));
                    row.insert("message".to_owned(), json!(e.message));
                    serde_json::Value::Object(row)
                })
                .collect();
            body["error_count"] = json!(r.total);
        }
        let mut resp = (status, axum::Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("OAuth realm=\"herald\""),
            );
        }
        if let Self::PayloadTooLarge = self {
            // The rest of the body was not read: the connection cannot be reused, so say so
            // and the client will not send its next request down a closing socket.
            resp.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if let Self::TooManyRequests { retry_after, .. } = self {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        }
        if let Self::Unavailable = self {
            // The database is away: clients (and Statuspage's) retry after this.
            resp.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(UNAVAILABLE_RETRY_AFTER),
            );
        }
        resp
    }
}

impl From<Invalid> for ApiError {
    fn from(e: Invalid) -> Self {
        Self::Unprocessable {
            field: Some(e.field),
            message: e.message,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::NotFound,
            StoreError::Conflict(m) => Self::Conflict(m),
            StoreError::Invalid(i) => i.into(),
            StoreError::Unavailable(detail) => {
                tracing::warn!(error = %detail, "database unavailable");
                Self::Unavailable
            }
            other => {
                tracing::error!(error = %other, "store error");
                Self::Internal
            }
        }
    }
}

/// Result of a JSON handler.
pub type ApiResult<T> = Result<T, ApiError>;
