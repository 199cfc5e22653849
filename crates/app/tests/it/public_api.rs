//! The public Status API v2 (`/api/v2/...`): every endpoint's envelope, fields, enums and
//! order (insta snapshots, ids and timestamps redacted after their shape is checked), HTTP
//! headers, caps, and what a write changes at once.

use herald_domain::clock::{Clock, SystemClock};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

/// Redactions of v2 documents: ids, timestamps, URLs with the test's port.
#[macro_export]
macro_rules! assert_v2_snapshot {
    ($name:expr, $value:expr) => {
        insta::with_settings!({sort_maps => false}, {
            insta::assert_json_snapshot!($name, $value, {
                ".page.url" => insta::dynamic_redaction(|v, _| $crate::helpers::redact_str(v, "[page_url]")),
                ".**.id" => insta::dynamic_redaction($crate::helpers::redact_id),
                ".**.page_id" => insta::dynamic_redaction($crate::helpers::redact_id),
                ".**.group_id" => insta::dynamic_redaction($crate::helpers::redact_id),
                ".**.incident_id" => insta::dynamic_redaction($crate::helpers::redact_id),
                ".**.code" => insta::dynamic_redaction($crate::helpers::redact_id),
                ".**.shortlink" => insta::dynamic_redaction(|v, _| $crate::helpers::redact_str(v, "[shortlink]")),
                ".**.created_at" => insta::dynamic_redaction($crate::helpers::redact_ts),
                ".**.updated_at" => insta::dynamic_redaction($crate::helpers::redact_ts),
                ".**.started_at" => insta::dynamic_redaction($crate::helpers::redact_ts),
                ".**.display_at" => insta::dynamic_redaction($crate::helpers::redact_ts),
                ".**.resolved_at" => insta::dynamic_redaction($crate::helpers::redact_ts),
                ".**.monitoring_at" => insta::dynamic_redaction($crate::helpers::redact_ts),
                ".**.scheduled_for" => insta::dynamic_redaction($crate::helpers::redact_ts),
                ".**.scheduled_until" => insta::dynamic_redaction($crate::helpers::redact_ts),
                ".**.start_date" => insta::dynamic_redaction(|v, _| $crate::helpers::redact_str(v, "[date]")),
            });
        });
    };
}

/// Replaces the member ids of groups (`"components": ["id", ...]`) after checking them.
pub fn redact_group_members(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if m.get("group") == Some(&Value::Bool(true))
                && let Some(Value::Array(ids)) = m.get_mut("components")
            {
                for id in ids.iter_mut() {
                    assert!(herald_domain::id::looks_valid(id.as_str().unwrap()), "{id}");
                    *id = Value::from("[id]");
                }
            }
            m.values_mut().for_each(redact_group_members);
        }
        Value::Array(a) => a.iter_mut().for_each(redact_group_members),
        _ => {}
    }
}

/// Ids of what [`seed`] made.
pub struct Seeded {
    pub api: String,
    pub web: String,
    pub cdn: String,
    pub open: String,
    pub resolved: String,
}

/// A page with a group, components (one shown only when degraded), an open and a resolved
/// incident, and an upcoming, an active and a completed maintenance.
pub async fn seed(app: &TestApp) -> Seeded {
    let api = app.component("API").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let web = app.component("Web").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cdn = app.component("CDN").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .patch(
            &app.page_path(&format!("/components/{cdn}")),
            &json!({"component": {"only_show_if_degraded": true, "showcase": false,
                "description": "Static assets", "start_date": "2024-01-02"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = app
        .post(
            &app.page_path("/component-groups"),
            &json!({"description": "Core services", "component_group": {"name": "Core", "components": [api, web]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let resolved = app
        .incident(
            json!({"name": "Old outage", "status": "investigating", "body": "Looking.",
            "components": {web.clone(): "major_outage"}}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .patch(
            &app.page_path(&format!("/incidents/{resolved}")),
            &json!({"incident": {"status": "resolved", "body": "Fixed.", "components": {web.clone(): "operational"}}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let soon = SystemClock.now() + chrono::TimeDelta::days(2);
    let window = |from: chrono::DateTime<chrono::Utc>, hours: i64| {
        (
            from.to_rfc3339(),
            (from + chrono::TimeDelta::hours(hours)).to_rfc3339(),
        )
    };
    let (f, u) = window(soon, 2);
    app.incident(
        json!({"name": "Upcoming upgrade", "status": "scheduled", "scheduled_for": f,
        "scheduled_until": u, "body": "Planned.", "component_ids": [cdn.clone()]}),
    )
    .await;
    let (f, u) = window(SystemClock.now() - chrono::TimeDelta::hours(1), 2);
    app.incident(json!({"name": "Active migration", "status": "in_progress", "scheduled_for": f,
        "scheduled_until": u, "body": "Under way.", "components": {cdn.clone(): "under_maintenance"}}))
        .await;
    let (f, u) = window(SystemClock.now() - chrono::TimeDelta::days(3), 1);
    app.incident(
        json!({"name": "Done maintenance", "status": "completed", "scheduled_for": f,
        "scheduled_until": u, "body": "Finished."}),
    )
    .await;
    let open = app
        .incident(json!({"name": "Elevated errors", "status": "investigating", "body": "We are **looking**.",
            "components": {api.clone(): "partial_outage"}}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .patch(
            &app.page_path(&format!("/incidents/{open}")),
            &json!({"incident": {"status": "identified", "body": "A bad deploy."}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    Seeded {
        api,
        web,
        cdn,
        open,
        resolved,
    }
}

pub const ENDPOINTS: &[&str] = &[
    "summary",
    "status",
    "components",
    "incidents",
    "incidents/unresolved",
    "incidents/resolved",
    "scheduled-maintenances",
    "scheduled-maintenances/upcoming",
    "scheduled-maintenances/active",
];

async fn every_v2_endpoint_matches_statuspage(b: Backend) {
    // Arrange
    let app = TestApp::spawn(b).await;
    seed(&app).await;
    for e in ENDPOINTS {
        // Act: at the default page, under /p/<slug>/, with and without .json
        let r = app.public(&format!("/api/v2/{e}.json"), &[]).await;
        // Assert
        assert_eq!(r.status, StatusCode::OK, "{e}: {}", r.text);
        assert_eq!(
            r.headers["content-type"], "application/json; charset=utf-8",
            "{e}"
        );
        assert_eq!(r.headers["access-control-allow-origin"], "*", "{e}");
        assert!(
            r.text.starts_with("{\"page\":{\"id\":"),
            "{e}: the page block comes first"
        );
        let mut v = r.json();
        redact_group_members(&mut v);
        let under_slug = app.public(&format!("/p/acme/api/v2/{e}.json"), &[]).await;
        assert_eq!(under_slug.text, r.text, "{e} under /p/acme/");
        assert_v2_snapshot!(format!("v2_{}", e.replace('/', "_")), v);
    }
}

async fn lists_are_newest_first_and_capped_at_50(b: Backend) {
    // Arrange: 52 resolved incidents.
    let app = TestApp::spawn(b).await;
    for n in 0..52 {
        app.incident(json!({"name": format!("Incident {n}"), "status": "resolved", "body": "x"}))
            .await;
    }
    // Act
    let v = app.public("/api/v2/incidents.json", &[]).await.json();
    // Assert
    let list = v["incidents"].as_array().unwrap();
    assert_eq!(list.len(), 50);
    assert_eq!(list[0]["name"], "Incident 51");
    assert_eq!(list[49]["name"], "Incident 2");
    let times: Vec<&str> = list
        .iter()
        .map(|i| i["created_at"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
}

async fn a_write_is_visible_when_its_response_arrives(b: Backend) {
    // Arrange
    let app = TestApp::spawn(b).await;
    let c = app.component("API").await;
    let before = app.public("/api/v2/status.json", &[]).await;
    assert_eq!(before.json()["status"]["indicator"], "none");
    // Act
    let r = app
        .patch(
            &app.page_path(&format!("/components/{}", c["id"].as_str().unwrap())),
            &json!({"component": {"status": "major_outage"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    // Assert: no waiting
    let after = app.public("/api/v2/status.json", &[]).await;
    assert_eq!(after.json()["status"]["indicator"], "critical");
    assert_ne!(before.headers["etag"], after.headers["etag"]);
}

async fn caching_headers_and_encodings(b: Backend) {
    // Arrange
    let app = TestApp::spawn(b).await;
    seed(&app).await;
    for path in ["/", "/api/v2/summary.json"] {
        // Act
        let plain = app.public(path, &[]).await;
        let gz = app.public(path, &[("accept-encoding", "gzip")]).await;
        let br = app.public(path, &[("accept-encoding", "gzip, br")]).await;
        let etag = plain.headers["etag"].to_str().unwrap().to_owned();
        let not_modified = app.public(path, &[("if-none-match", &etag)]).await;
        // Assert
        assert!(plain.headers.get("content-encoding").is_none());
        assert_eq!(gz.headers["content-encoding"], "gzip", "{path}");
        assert_eq!(br.headers["content-encoding"], "br", "{path}");
        assert_eq!(plain.headers["vary"], "Accept-Encoding");
        assert!(
            etag.starts_with('"') && etag.ends_with('"'),
            "strong ETag: {etag}"
        );
        assert_ne!(gz.headers["etag"], plain.headers["etag"]);
        let cc = plain.headers["cache-control"].to_str().unwrap();
        assert!(
            cc.contains("public") && cc.contains("max-age=") && cc.contains("stale-if-error"),
            "{cc}"
        );
        assert_eq!(not_modified.status, StatusCode::NOT_MODIFIED);
        assert!(not_modified.text.is_empty());
        assert_eq!(not_modified.headers["etag"], plain.headers["etag"]);
    }
}

async fn unknown_api_paths_and_subscribers(b: Backend) {
    // Arrange
    let app = TestApp::spawn(b).await;
    // Act
    let unknown = app.public("/api/v2/xyz.json", &[]).await;
    let deep = app.public("/p/acme/api/v2/incidents/nope.json", &[]).await;
    let sub = app
        .client
        .post(app.url("/api/v2/subscribers.json"))
        .form(&[("subscriber[email]", "a@example.org")])
        .send()
        .await
        .unwrap();
    let unsub = app
        .client
        .delete(app.url("/p/acme/api/v2/subscribers/abc.json"))
        .send()
        .await
        .unwrap();
    let put = app
        .client
        .put(app.url("/api/v2/summary.json"))
        .send()
        .await
        .unwrap();
    // Assert
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(unknown.text.is_empty());
    assert_eq!(deep.status, StatusCode::NOT_FOUND);
    // Subscribing works at the default page's root too, cross-origin; a DELETE without a
    // signed token finds nothing
    assert_eq!(sub.status(), StatusCode::OK);
    assert_eq!(sub.headers()["access-control-allow-origin"], "*");
    let body: Value = sub.json().await.unwrap();
    assert_eq!(body["subscriber"]["email"], "a@example.org");
    assert_eq!(unsub.status(), StatusCode::NOT_FOUND);
    assert_eq!(put.status(), StatusCode::METHOD_NOT_ALLOWED);
}

both_backends!(
    every_v2_endpoint_matches_statuspage,
    lists_are_newest_first_and_capped_at_50,
    a_write_is_visible_when_its_response_arrives,
    caching_headers_and_encodings,
    unknown_api_paths_and_subscribers,
    a_page_left_alone_is_sent_compressed_whole,
);

/// A write's render sends its large documents as pieces compressed apart and joined (fast,
/// but bigger); once the page has kept its version for a moment, each is compressed as one
/// stream: the same text, the bytes a whole-document encoder makes.
async fn a_page_left_alone_is_sent_compressed_whole(b: Backend) {
    use std::io::{Read, Write};
    // Arrange: a page with rows and incidents
    let app = TestApp::spawn(b).await;
    for n in 0..8 {
        app.component(&format!("Service {n}")).await;
    }
    for n in 0..3 {
        app.incident(
            json!({"name": format!("Incident {n}"), "status": "investigating", "body": "Looking."}),
        )
        .await;
    }
    for path in ["/", "/api/v2/summary.json", "/api/v2/incidents.json"] {
        // Act: wait until the page is served settled
        let get = |enc: &'static str| {
            let rb = app.client.get(app.url(path));
            let rb = if enc.is_empty() {
                rb
            } else {
                rb.header("accept-encoding", enc)
            };
            async move {
                let r = rb.send().await.unwrap();
                let etag = r.headers()["etag"].to_str().unwrap().to_owned();
                (etag, r.bytes().await.unwrap().to_vec())
            }
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let (gz, br) = loop {
            let (gz, br) = (get("gzip").await, get("br").await);
            if gz.0.ends_with("-gzw\"") && br.0.ends_with("-brw\"") {
                break (gz.1, br.1);
            }
            assert!(std::time::Instant::now() < deadline, "{path} never settled");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        };
        // Assert: the bytes of whole-stream gzip and brotli of the uncompressed body
        let (_, text) = get("").await;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        e.write_all(&text).unwrap();
        assert_eq!(gz, e.finish().unwrap(), "{path}: gzip");
        let mut decoded = Vec::new();
        brotli::Decompressor::new(&br[..], 4096)
            .read_to_end(&mut decoded)
            .unwrap();
        assert_eq!(decoded, text, "{path}: brotli");
        let mut whole = Vec::new();
        brotli::CompressorWriter::new(&mut whole, 4096, 5, 22)
            .write_all(&text)
            .unwrap();
        assert_eq!(br.len(), whole.len(), "{path}: brotli size");
    }
}
