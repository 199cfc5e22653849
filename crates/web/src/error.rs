//! The one place HTTP error status codes are chosen: [`ApiError`] for the JSON APIs and
//! [`PageError`] for the HTML pages (the admin UI and the subscription links).
//!
//! JSON bodies follow Statuspage: `{"error": "...", "message": "..."}` with the same sentence
//! in both keys (clients read one or the other), plus `field` on validation errors. Pages
//! carry the page their surface rendered (a form with its messages, the status page's look),
//! or a plain one. Either way, a store failure maps the same: the database away is a 503
//! with `Retry-After`; anything else unexpected is logged here, once, and answered with a
//! 500 that says nothing of it.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
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

/// A body an extractor could not read: too large (413) or not readable (400).
fn unread_body(status: StatusCode, text: String) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge
    } else {
        ApiError::BadRequest(text)
    }
}

impl From<axum::extract::rejection::BytesRejection> for ApiError {
    fn from(e: axum::extract::rejection::BytesRejection) -> Self {
        unread_body(e.status(), e.body_text())
    }
}

impl From<axum::extract::multipart::MultipartError> for ApiError {
    fn from(e: axum::extract::multipart::MultipartError) -> Self {
        unread_body(e.status(), e.body_text())
    }
}

impl ApiError {
    /// The seconds a client is asked to wait, for the errors that say so.
    fn retry_after(&self) -> Option<u64> {
        match self {
            Self::TooManyRequests { retry_after, .. } => Some(*retry_after),
            Self::Unavailable => Some(UNAVAILABLE_RETRY_AFTER),
            _ => None,
        }
    }
}

/// An error answered with an HTML page: by the admin UI and the subscription links.
#[derive(Debug)]
pub enum PageError {
    /// 400: the request is malformed.
    BadRequest(String),
    /// 401: the sign-in failed.
    Unauthorized,
    /// 403: the user may not do this, or the request did not come from this site; says why.
    Forbidden(String),
    /// 404.
    NotFound,
    /// 409: clashes with existing data.
    Conflict(String),
    /// 413: the form or file is too large; says which limit.
    PayloadTooLarge(String),
    /// 422: a request that breaks a rule, in a sentence.
    Unprocessable(String),
    /// 422: the form page again, rendered with the user's input and a message per field.
    Invalid(Box<Response>),
    /// 429, with the seconds to wait and what was refused, in a sentence.
    TooManyRequests { retry_after: u64, message: String },
    /// 503: the database is unreachable.
    Unavailable,
    /// 500: a bug; details were logged.
    Internal,
    /// An error of the JSON APIs' shared logic (the subscribe rules), shown as a page: its
    /// status and sentence are [`ApiError`]'s.
    Api(Box<ApiError>),
    /// One of the above on a page its surface rendered (the sign-in form with its message,
    /// the status page's own look): the status and headers are the error's, the page the
    /// surface's.
    Shown(Box<(PageError, Response)>),
}

/// Result of an HTML handler.
pub type PageResult<T = Response> = Result<T, PageError>;

/// What a plain error page says, put on its response so that a surface with a look of its
/// own (the admin UI's `guard`) can show the same words in it.
#[derive(Debug, Clone)]
pub struct ErrorWords {
    pub title: &'static str,
    pub text: String,
}

/// A form page: 200, or 422 when the form came back with messages to fix.
pub fn form_page(has_errors: bool, page: impl IntoResponse) -> PageResult {
    if has_errors {
        Err(PageError::Invalid(Box::new(page.into_response())))
    } else {
        Ok(page.into_response())
    }
}

impl PageError {
    /// This error on `page`, which its surface rendered for it.
    pub fn shown(self, page: impl IntoResponse) -> PageError {
        PageError::Shown(Box::new((self, page.into_response())))
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unprocessable(_) | Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Api(e) => e.parts().0,
            Self::Shown(s) => s.0.status(),
        }
    }

    /// A title and a sentence for the page.
    pub fn words(&self) -> (&'static str, String) {
        match self {
            Self::BadRequest(m) => ("Bad request", m.clone()),
            Self::Unauthorized => ("Not signed in", "That email and password do not match.".into()),
            Self::Forbidden(m) => ("Forbidden", m.clone()),
            Self::NotFound => ("Not found", "There is nothing here.".into()),
            Self::Conflict(m) | Self::Unprocessable(m) => ("Not saved", m.clone()),
            Self::PayloadTooLarge(m) => ("Too large", m.clone()),
            Self::Invalid(_) => ("Not saved", "The form has mistakes to fix.".into()),
            Self::TooManyRequests { message, .. } => ("Too many requests", message.clone()),
            Self::Unavailable => (
                "Temporarily unavailable",
                "herald cannot reach its database right now; nothing was changed. Try again shortly."
                    .into(),
            ),
            Self::Internal => (
                "Something went wrong",
                "Something went wrong on our side; it has been logged.".into(),
            ),
            Self::Api(e) => ("Something is not right", e.parts().1),
            Self::Shown(s) => s.0.words(),
        }
    }

    /// The seconds a client is asked to wait, for the errors that say so.
    fn retry_after(&self) -> Option<u64> {
        match self {
            Self::TooManyRequests { retry_after, .. } => Some(*retry_after),
            Self::Unavailable => Some(UNAVAILABLE_RETRY_AFTER),
            Self::Api(e) => e.retry_after(),
            Self::Shown(s) => s.0.retry_after(),
            _ => None,
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = self.status();
        let retry_after = self.retry_after();
        let mut resp = match self {
            Self::Shown(s) => s.1,
            Self::Invalid(page) => *page,
            plain => {
                let (title, text) = plain.words();
                let mut r = Html(plain_page(title, &text)).into_response();
                r.extensions_mut().insert(ErrorWords { title, text });
                r
            }
        };
        *resp.status_mut() = status;
        if let Some(s) = retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            // The rest of the body was not read: the connection cannot be reused.
            resp.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        resp
    }
}

/// A page with a title and a sentence, for surfaces without a look of their own.
fn plain_page(title: &str, text: &str) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>{t}</title></head>\n<body>\n<h1>{t}</h1>\n<p>{x}</p>\n</body>\n</html>\n",
        t = esc(title),
        x = esc(text)
    )
}

impl From<StoreError> for PageError {
    /// As the JSON APIs map it (one place classifies and logs store errors), in a page's
    /// terms.
    fn from(e: StoreError) -> Self {
        match ApiError::from(e) {
            ApiError::NotFound => Self::NotFound,
            ApiError::Conflict(m) => Self::Conflict(m),
            ApiError::Unprocessable { message, .. } => Self::Unprocessable(message),
            ApiError::Unavailable => Self::Unavailable,
            _ => Self::Internal,
        }
    }
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        Self::Api(Box::new(e))
    }
}

impl From<askama::Error> for PageError {
    fn from(e: askama::Error) -> Self {
        tracing::error!(error = %e, "page template failed");
        Self::Internal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(r: Response) -> String {
        let b = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        String::from_utf8(b.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn a_page_while_the_database_is_away_is_a_503_with_retry_after() {
        let r =
            PageError::from(StoreError::Unavailable("connection refused".into())).into_response();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers()[header::RETRY_AFTER], "5");
        assert!(
            r.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert!(r.extensions().get::<ErrorWords>().is_some());
        let text = body(r).await;
        assert!(text.contains("Temporarily unavailable"), "{text}");
        assert!(!text.contains("connection refused"), "{text}");
    }

    #[tokio::test]
    async fn a_bug_is_a_500_that_says_nothing_of_it() {
        let r = PageError::from(StoreError::Internal("row 7: bad <json>".into())).into_response();
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(r.headers().get(header::RETRY_AFTER).is_none());
        let text = body(r).await;
        assert!(!text.contains("row 7"), "{text}");
    }

    #[tokio::test]
    async fn a_shown_error_keeps_its_status_and_headers_on_the_surface_page() {
        let e = PageError::from(ApiError::Unavailable).shown(Html("<p>our look</p>"));
        let r = e.into_response();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers()[header::RETRY_AFTER], "5");
        assert!(r.extensions().get::<ErrorWords>().is_none());
        assert_eq!(body(r).await, "<p>our look</p>");
        let limited = PageError::TooManyRequests {
            retry_after: 900,
            message: "slow down".into(),
        }
        .shown(Html("form"))
        .into_response();
        assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(limited.headers()[header::RETRY_AFTER], "900");
    }

    #[test]
    fn a_form_page_is_200_or_422_by_its_messages() {
        assert_eq!(
            form_page(false, Html("f")).unwrap().status(),
            StatusCode::OK
        );
        let e = form_page(true, Html("f")).unwrap_err();
        assert_eq!(e.into_response().status(), StatusCode::UNPROCESSABLE_ENTITY);
    }

    #[test]
    fn store_errors_map_as_they_do_for_the_api() {
        let cases: [fn() -> StoreError; 6] = [
            || StoreError::NotFound,
            || StoreError::Conflict("taken".into()),
            || StoreError::Invalid(Invalid::new("name", "too long")),
            || StoreError::Unavailable("down".into()),
            || StoreError::Internal("bug".into()),
            || StoreError::Migration("half".into()),
        ];
        for e in cases {
            let page = PageError::from(e()).status();
            let (api, _) = ApiError::from(e()).parts();
            assert_eq!(page, api, "{:?}", e());
        }
    }
}
