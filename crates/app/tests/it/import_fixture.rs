//! A Statuspage v1 API on loopback for import tests: it serves recorded response shapes
//! (every field Statuspage sends, timestamps in the page's offset), pages its lists as
//! Statuspage does, and can answer one 429 with `Retry-After`, fail from a given request on,
//! or send a broken body, so a test can watch the importer deal with each.

use axum::extract::{OriginalUri, Request};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

/// What the fixture serves and how it misbehaves.
#[derive(Debug, Default, Clone)]
pub struct Data {
    pub page: Value,
    pub components: Vec<Value>,
    pub groups: Vec<Value>,
    pub incidents: Vec<Value>,
    pub templates: Vec<Value>,
    pub providers: Vec<Value>,
    /// The page's metrics, of every provider, in display order.
    pub metrics: Vec<Value>,
    /// `(state, subscriber)`: listed under `?state=<state>`.
    pub subscribers: Vec<(&'static str, Value)>,
}

#[derive(Debug, Default)]
struct Behaviour {
    /// Answer 429 with `Retry-After: 1` to this request number (1-based), once.
    throttle_at: Option<u64>,
    /// Answer 500 to every request from this number on.
    fail_from: Option<u64>,
    /// Answer `[{"id": ` (cut off) to requests on this path.
    broken_path: Option<String>,
    requests: u64,
    /// Authorization headers seen, to check the key is sent as Statuspage wants it.
    auth: Vec<String>,
}

struct Shared {
    data: Mutex<Data>,
    behaviour: Mutex<Behaviour>,
    page_id: String,
    key: String,
}

/// The running fixture.
pub struct Fixture {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    stop: CancellationToken,
}

impl Fixture {
    /// Serves `data` for page `data.page.id`, accepting `OAuth <key>`.
    pub async fn start(data: Data, key: &str) -> Fixture {
        let page_id = data.page["id"].as_str().unwrap().to_owned();
        let shared = Arc::new(Shared {
            data: Mutex::new(data),
            behaviour: Mutex::new(Behaviour::default()),
            page_id,
            key: key.to_owned(),
        });
        let s = shared.clone();
        let app = axum::Router::new().fallback(move |uri: OriginalUri, req: Request| {
            let s = s.clone();
            async move { serve(&s, &uri, req.headers()) }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = CancellationToken::new();
        let st = stop.clone();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(st.cancelled_owned())
                .await
                .unwrap();
        });
        Fixture { addr, shared, stop }
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn throttle_at(&self, n: u64) {
        self.shared.behaviour.lock().unwrap().throttle_at = Some(n);
    }

    pub fn fail_from(&self, n: Option<u64>) {
        self.shared.behaviour.lock().unwrap().fail_from = n;
    }

    pub fn break_path(&self, path: Option<&str>) {
        self.shared.behaviour.lock().unwrap().broken_path = path.map(str::to_owned);
    }

    pub fn requests(&self) -> u64 {
        self.shared.behaviour.lock().unwrap().requests
    }

    pub fn auth_headers(&self) -> Vec<String> {
        self.shared.behaviour.lock().unwrap().auth.clone()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

fn json_resp(v: Value) -> Response {
    (StatusCode::OK, axum::Json(v)).into_response()
}

fn serve(s: &Shared, uri: &axum::http::Uri, headers: &HeaderMap) -> Response {
    let path = uri.path().to_owned();
    let query: Vec<(String, String)> = uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let param = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    {
        let mut b = s.behaviour.lock().unwrap();
        b.requests += 1;
        let n = b.requests;
        let auth = headers
            .get("authorization")
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        b.auth.push(auth.clone());
        if auth != format!("OAuth {}", s.key) {
            return (
                StatusCode::UNAUTHORIZED,
                axum::Json(json!({"error": "Could not authenticate"})),
            )
                .into_response();
        }
        if b.throttle_at == Some(n) {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [("Retry-After", "1")],
                axum::Json(json!({"error": "Rate limit exceeded"})),
            )
                .into_response();
        }
        if b.fail_from.is_some_and(|f| n >= f) {
            return (StatusCode::INTERNAL_SERVER_ERROR, "upstream went away").into_response();
        }
        if b.broken_path.as_deref().is_some_and(|p| path.ends_with(p)) {
            return (
                StatusCode::OK,
                [("content-type", "application/json")],
                "[{\"id\": \"abc",
            )
                .into_response();
        }
    }
    let prefix = format!("/v1/pages/{}", s.page_id);
    let Some(rest) = path.strip_prefix(&prefix) else {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"error": "The requested resource could not be found."})),
        )
            .into_response();
    };
    let data = s.data.lock().unwrap();
    let list: Vec<Value> = match rest {
        "" => return json_resp(data.page.clone()),
        "/components" => data.components.clone(),
        "/component-groups" => data.groups.clone(),
        "/incidents" => data.incidents.clone(),
        "/incident_templates" => data.templates.clone(),
        "/metrics_providers" => data.providers.clone(),
        "/metrics" => data.metrics.clone(),
        "/subscribers" => {
            let state = param("state").unwrap_or_else(|| "active".to_owned());
            data.subscribers
                .iter()
                .filter(|(st, _)| *st == state)
                .map(|(_, v)| v.clone())
                .collect()
        }
        _ => {
            return (
                StatusCode::NOT_FOUND,
                axum::Json(json!({"error": "The requested resource could not be found."})),
            )
                .into_response();
        }
    };
    // Statuspage: `page` from 1 (subscribers: from 0), `per_page`/`limit` at most 100.
    let first = if rest == "/subscribers" { 0 } else { 1 };
    let size: usize = param("per_page")
        .or_else(|| param("limit"))
        .and_then(|v| v.parse().ok())
        .unwrap_or(100usize)
        .min(100);
    let page: usize = param("page").and_then(|v| v.parse().ok()).unwrap_or(first);
    let skip = page.saturating_sub(first) * size;
    json_resp(Value::Array(
        list.into_iter().skip(skip).take(size).collect(),
    ))
}
