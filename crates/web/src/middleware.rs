//! Request rewriting that has to happen before routing.

use axum::extract::Request;
use axum::http::Uri;

/// Statuspage documents every v1 path with and without `.json`
/// (`/pages/abc/incidents.json` == `/pages/abc/incidents`): strip the suffix so one route
/// serves both. `/v1/openapi.json` is a real file name and keeps it.
pub fn strip_json_suffix(mut req: Request) -> Request {
    let path = req.uri().path();
    if path.starts_with("/v1/") && path.ends_with(".json") && path != "/v1/openapi.json" {
        let stripped = &path[..path.len() - ".json".len()];
        let new = match req.uri().query() {
            Some(q) => format!("{stripped}?{q}"),
            None => stripped.to_owned(),
        };
        if let Ok(uri) = new.parse::<Uri>() {
            *req.uri_mut() = uri;
        }
    }
    req
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> String {
        let req = Request::builder()
            .uri(p)
            .body(axum::body::Body::empty())
            .unwrap();
        strip_json_suffix(req).uri().to_string()
    }

    #[test]
    fn json_suffixes_are_stripped_under_v1_only() {
        assert_eq!(
            path("/v1/pages/abc/incidents.json?limit=5"),
            "/v1/pages/abc/incidents?limit=5"
        );
        assert_eq!(path("/v1/pages.json"), "/v1/pages");
        assert_eq!(path("/v1/openapi.json"), "/v1/openapi.json");
        assert_eq!(path("/api/v2/summary.json"), "/api/v2/summary.json");
    }
}
