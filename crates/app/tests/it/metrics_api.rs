//! System metrics through the v1 API (issue 13): providers and metrics CRUD, pushed points
//! (bucket snapping, last write wins, the backfill limit, reset), bad input refused whole,
//! credentials never returned, and the public chart data following the points.

use herald_domain::clock::{Clock, SystemClock};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

/// Creates a provider from `fields` and returns it.
pub async fn provider(app: &TestApp, fields: Value) -> Value {
    let r = app
        .post(
            &app.page_path("/metrics_providers"),
            &json!({"metrics_provider": fields}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.json()
}

/// Creates a metric of provider `pid` from `fields` and returns it.
pub async fn metric(app: &TestApp, pid: &str, fields: Value) -> Value {
    let r = app
        .post(
            &app.page_path(&format!("/metrics_providers/{pid}/metrics")),
            &json!({"metric": fields}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.json()
}

/// The public chart data of metric `id` for `period`, once `ready` accepts it (the charts
/// follow points within a few seconds).
pub async fn chart_when(
    app: &TestApp,
    id: &str,
    period: &str,
    ready: impl Fn(&Value) -> bool,
) -> Value {
    let url = app.url(&format!("/p/{}/metrics/{id}/{period}.json", app.page.slug));
    let mut last = Value::Null;
    for _ in 0..600 {
        let r = app.client.get(&url).send().await.expect("chart");
        if r.status() == StatusCode::OK {
            last = r.json().await.expect("chart json");
            if ready(&last) {
                return last;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the chart never showed what was expected; last: {last}");
}

/// The value the chart shows for bucket `t`.
pub fn value_at(chart: &Value, t: i64) -> Option<f64> {
    chart["points"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["timestamp"] == t)
        .and_then(|p| p["value"].as_f64())
}

async fn pushed_points_snap_to_their_bucket_and_the_last_write_wins(b: Backend) {
    // Arrange
    let app = TestApp::spawn(b).await;
    let p = provider(&app, json!({"type": "Self"})).await;
    assert_eq!(p["type"], "Self");
    let pid = p["id"].as_str().unwrap();
    let m = metric(
        &app,
        pid,
        json!({"name": "API latency", "suffix": "ms", "decimal_places": 1}),
    )
    .await;
    let other = metric(&app, pid, json!({"name": "Error rate", "suffix": "%"})).await;
    let id = m["id"].as_str().unwrap();
    let oid = other["id"].as_str().unwrap();
    assert_eq!(m["backfilled"], true, "a pushed metric owes no backfill");
    assert_eq!(m["backfill_percentage"], 100.0);
    assert_eq!(m["most_recent_data_at"], Value::Null);
    let now = SystemClock.now().timestamp();
    let t = now - now.rem_euclid(30) - 300 + 7;
    let bucket = t - t.rem_euclid(30);

    // Act: one point, then another in the same bucket
    let r = app
        .post(
            &app.page_path(&format!("/metrics/{id}/data")),
            &json!({"data": {"timestamp": t, "value": 12.5}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(
        r.json(),
        json!({"data": {"timestamp": bucket, "value": 12.5}})
    );
    let r = app
        .post(
            &app.page_path(&format!("/metrics/{id}/data")),
            &json!({"data": {"timestamp": bucket + 29, "value": 20.0}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // A batch: two metrics, and two values in one bucket (the later wins).
    let batch = json!({"data": {
        id: [{"timestamp": bucket - 30, "value": 1}, {"timestamp": bucket - 60, "value": "2.5"}],
        oid: [{"timestamp": bucket, "value": 3}, {"timestamp": bucket + 1, "value": 4}],
    }});
    let r = app.post(&app.page_path("/metrics/data"), &batch).await;

    // Assert
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(
        r.json()["data"][oid][1],
        json!({"timestamp": bucket, "value": 4.0})
    );
    let held = app.store.metric_points(id, 0, i64::MAX).await.unwrap();
    let got: Vec<(i64, f64)> = held.iter().map(|p| (p.bucket, p.value)).collect();
    assert_eq!(
        got,
        [(bucket - 60, 2.5), (bucket - 30, 1.0), (bucket, 20.0)]
    );
    let held = app.store.metric_points(oid, 0, i64::MAX).await.unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].value, 4.0, "the last write in a bucket wins");
    let m = app
        .get(&app.page_path(&format!("/metrics/{id}")))
        .await
        .json();
    let newest = chrono::DateTime::from_timestamp(bucket, 0).unwrap();
    assert_eq!(
        m["most_recent_data_at"],
        newest.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
    );
    let chart = chart_when(&app, id, "day", |c| value_at(c, bucket) == Some(20.0)).await;
    assert_eq!(chart["metric"]["suffix"], "ms");
    assert_eq!(chart["period"], "day");
    assert_eq!(chart["points"].as_array().unwrap().len(), 2880);
    assert_eq!(
        value_at(&chart, bucket - 90),
        None,
        "a bucket without data is null, not zero"
    );
    let week = chart_when(&app, id, "week", |c| {
        c["points"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| !p["value"].is_null())
    })
    .await;
    assert_eq!(week["points"].as_array().unwrap().len(), 2016);
    let home = app
        .client
        .get(app.url(&format!("/p/{}/", app.page.slug)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        home.contains("System metrics") && home.contains("API latency"),
        "the home page shows the charts"
    );
    assert!(
        home.contains("<title id=\"m-"),
        "each chart has an accessible title"
    );

    // Reset
    let r = app
        .delete(&app.page_path(&format!("/metrics/{id}/data")))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["most_recent_data_at"], Value::Null);
    assert!(
        app.store
            .metric_points(id, 0, i64::MAX)
            .await
            .unwrap()
            .is_empty()
    );
    chart_when(&app, id, "day", |c| value_at(c, bucket).is_none()).await;
    assert_eq!(
        app.store
            .metric_points(oid, 0, i64::MAX)
            .await
            .unwrap()
            .len(),
        1,
        "only that metric is reset"
    );
}

async fn bad_points_and_foreign_metrics_are_refused_whole_naming_the_field(b: Backend) {
    // Arrange
    let app = TestApp::spawn(b).await;
    let pid = provider(&app, json!({"type": "Self"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = metric(&app, &pid, json!({"name": "Load"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let other_page = app.new_page("other");
    let other_page = other_page.await;
    let other_key = app
        .new_key(Some(std::slice::from_ref(&other_page.id)), false)
        .await;
    let r = app
        .send_as(
            &other_key,
            reqwest::Method::POST,
            &format!("/v1/pages/{}/metrics_providers", other_page.id),
            Some(&json!({"metrics_provider": {"type": "Self"}})),
        )
        .await;
    let opid = r.json()["id"].as_str().unwrap().to_owned();
    let r = app
        .send_as(
            &other_key,
            reqwest::Method::POST,
            &format!(
                "/v1/pages/{}/metrics_providers/{opid}/metrics",
                other_page.id
            ),
            Some(&json!({"metric": {"name": "Theirs"}})),
        )
        .await;
    let foreign = r.json()["id"].as_str().unwrap().to_owned();
    let now = SystemClock.now().timestamp();
    let ok = json!({"timestamp": now - 60, "value": 1});
    let single = format!("/metrics/{id}/data");

    // Act + Assert: single points
    for (point, field) in [
        (json!({"timestamp": now - 60, "value": "NaN"}), "data.value"),
        (
            json!({"timestamp": now - 60, "value": "-Infinity"}),
            "data.value",
        ),
        (
            json!({"timestamp": now - 60, "value": "fast"}),
            "data.value",
        ),
        (json!({"timestamp": now - 60}), "data.value"),
        (
            json!({"timestamp": now + 120, "value": 1}),
            "data.timestamp",
        ),
        (
            json!({"timestamp": now - 29 * 86_400, "value": 1}),
            "data.timestamp",
        ),
        (
            json!({"timestamp": "yesterday", "value": 1}),
            "data.timestamp",
        ),
        (json!({"timestamp": 1e18, "value": 1}), "data.timestamp"),
    ] {
        let r = app
            .post(&app.page_path(&single), &json!({"data": point}))
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{point}: {}",
            r.text
        );
        assert_eq!(r.json()["field"], field, "{point}: {}", r.text);
    }
    let r = app
        .post(
            &app.page_path(&format!("/metrics/{foreign}/data")),
            &json!({"data": ok}),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "another page's metric: {}",
        r.text
    );
    let r = app
        .post(
            &app.page_path("/metrics/zzzzzzzzzzzz/data"),
            &json!({"data": ok}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Batches: one bad point, an unknown or foreign metric: nothing written.
    let bad = json!({"timestamp": now - 30, "value": "NaN"});
    for (data, field) in [
        (json!({&id: [ok, ok, bad]}), format!("data.{id}[2].value")),
        (
            json!({&id: [ok], "zzzzzzzzzzzz": [ok]}),
            "data.zzzzzzzzzzzz".to_owned(),
        ),
        (
            json!({&id: [ok], &foreign: [ok]}),
            format!("data.{foreign}"),
        ),
    ] {
        let r = app
            .post(&app.page_path("/metrics/data"), &json!({"data": data}))
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{data}: {}",
            r.text
        );
        assert_eq!(r.json()["field"], json!(field), "{}", r.text);
    }
    // A 10 MB batch: refused from its Content-Length, before herald reads it.
    let status = post_huge(&app, &app.page_path("/metrics/data"), 10 << 20).await;
    assert!(status.starts_with("HTTP/1.1 413"), "{status}");
    assert!(
        app.store
            .metric_points(&id, 0, i64::MAX)
            .await
            .unwrap()
            .is_empty(),
        "nothing was written"
    );
    assert!(
        app.store
            .metric_points(&foreign, 0, i64::MAX)
            .await
            .unwrap()
            .is_empty()
    );

    // Providers: unknown types, missing fields, a blocked address; credentials never shown.
    for (fields, field) in [
        (json!({"type": "Pingdom"}), "metrics_provider.type"),
        (
            json!({"type": "Prometheus"}),
            "metrics_provider.metric_base_uri",
        ),
        (
            json!({"type": "Prometheus", "metric_base_uri": "http://10.0.0.1:9090"}),
            "metrics_provider.metric_base_uri",
        ),
        (
            json!({"type": "Datadog", "api_key": "k"}),
            "metrics_provider.application_key",
        ),
        (
            json!({"type": "NewRelic", "api_key": "k"}),
            "metrics_provider.account_id",
        ),
    ] {
        let r = app
            .post(
                &app.page_path("/metrics_providers"),
                &json!({"metrics_provider": fields}),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{fields}: {}",
            r.text
        );
        assert_eq!(r.json()["field"], field, "{}", r.text);
    }
    let dd = provider(&app, json!({"type": "Datadog", "api_key": "dd-api-SECRET1", "application_key": "dd-app-SECRET2"})).await;
    let r = app.get(&app.page_path("/metrics_providers")).await;
    let r2 = app
        .patch(
            &app.page_path(&format!(
                "/metrics_providers/{}",
                dd["id"].as_str().unwrap()
            )),
            &json!({"metrics_provider": {"api_key": "dd-api-SECRET3"}}),
        )
        .await;
    assert_eq!(r2.status, StatusCode::OK, "{}", r2.text);
    for text in [dd.to_string(), r.text, r2.text] {
        assert!(
            !text.contains("SECRET"),
            "credentials are never returned: {text}"
        );
    }
    let e = app
        .post(
            &app.page_path(&format!(
                "/metrics_providers/{}/metrics",
                dd["id"].as_str().unwrap()
            )),
            &json!({"metric": {"name": "No query"}}),
        )
        .await;
    assert_eq!(e.json()["field"], "metric.metric_identifier", "{}", e.text);
    let dump = app.db.dump().await;
    assert!(
        !audit_has(&dump, "SECRET"),
        "the audit log never holds credentials"
    );
}

/// Sends the head of a POST announcing `len` bytes of JSON and its first bytes; returns the
/// answer's status line.
async fn post_huge(app: &TestApp, path: &str, len: usize) -> String {
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: OAuth {}\r\nContent-Type: application/json\r\nContent-Length: {len}\r\n\r\n{{\"data\": {{",
        app.addr, app.key
    );
    crate::helpers::status_after_head(app, &head).await
}

/// Whether an audit-log line of a dump mentions `needle`.
fn audit_has(dump: &str, needle: &str) -> bool {
    dump.lines()
        .any(|l| l.contains("metrics_provider.") && l.contains(needle))
}

both_backends!(
    pushed_points_snap_to_their_bucket_and_the_last_write_wins,
    bad_points_and_foreign_metrics_are_refused_whole_naming_the_field,
);
