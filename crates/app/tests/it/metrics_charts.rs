//! Metric charts as users see them (issue 13): the Day chart as an SVG snapshot (title and
//! summary for screen readers, current value and average with suffix and decimals, a gap
//! drawn as a gap), at a fixed time on a manual clock; and charts served unchanged while the
//! database is down (page freshness never depends on it, and neither do the charts).

use chrono::DateTime;
use herald_domain::clock::ManualClock;
use reqwest::StatusCode;
use serde_json::json;
use std::sync::Arc;

use crate::both_backends;
use crate::helpers::{Backend, TestApp};
use crate::metrics_api::{chart_when, metric, provider, value_at};

async fn the_day_chart_is_an_accessible_svg_with_gaps_drawn_as_gaps(b: Backend) {
    // Arrange: 2026-01-01 12:00 UTC; two hours of points with a 20-minute hole.
    let now = 1_767_268_800;
    let clock = Arc::new(ManualClock::new(DateTime::from_timestamp(now, 0).unwrap()));
    let app = TestApp::spawn_with_clock(b, clock, |_| {}).await;
    let pid = provider(&app, json!({"type": "Self"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let m = metric(
        &app,
        &pid,
        json!({"name": "API <latency>", "suffix": " ms", "decimal_places": 1,
        "tooltip_description": "p95 of every request"}),
    )
    .await;
    let id = m["id"].as_str().unwrap().to_owned();
    let points: Vec<_> = (0..240)
        .map(|k| now - 7200 + k * 30)
        .filter(|t| !(now - 3600..now - 2400).contains(t))
        .map(|t| json!({"timestamp": t, "value": 100.0 + ((t / 30) % 20) as f64 / 4.0}))
        .collect();
    let r = app
        .post(
            &app.page_path("/metrics/data"),
            &json!({"data": {&id: points}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    chart_when(&app, &id, "day", |c| value_at(c, now - 30).is_some()).await;

    // Act
    let r = app
        .client
        .get(app.url(&format!("/p/{}/metrics/{id}/day.svg", app.page.slug)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/svg+xml");
    let svg = r.text().await.unwrap().replace(&id, "ID");

    // Assert
    assert!(
        svg.contains("<title id=\"m-ID-day-t\">API &lt;latency&gt;, last 24 hours</title>"),
        "{svg}"
    );
    assert!(svg.contains("Current value "), "{svg}");
    assert!(
        svg.contains(" 1 gaps without data") || svg.contains("gaps without data"),
        "{svg}"
    );
    let path = svg
        .split(" d=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert_eq!(
        path.matches('M').count(),
        2,
        "the hole splits the line in two: {path}"
    );
    insta::assert_snapshot!("metrics_day_svg", svg);
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
        home.contains("p95 of every request") && home.contains("API &lt;latency&gt;"),
        "escaped on the page"
    );
}

async fn charts_keep_serving_while_the_database_is_down(b: Backend) {
    // Arrange: a metric with an hour of points, its charts rendered
    let now = 1_767_268_800;
    let clock = Arc::new(ManualClock::new(DateTime::from_timestamp(now, 0).unwrap()));
    let app = TestApp::spawn_with_clock(b, clock, |_| {}).await;
    let pid = provider(&app, json!({"type": "Self"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let m = metric(&app, &pid, json!({"name": "Queue depth"})).await;
    let id = m["id"].as_str().unwrap().to_owned();
    let points: Vec<_> = (0..120)
        .map(|k| json!({"timestamp": now - 3600 + k * 30, "value": k as f64}))
        .collect();
    let r = app
        .post(
            &app.page_path("/metrics/data"),
            &json!({"data": {&id: points}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    chart_when(&app, &id, "day", |c| value_at(c, now - 30).is_some()).await;
    let get = |path: String| {
        let app = &app;
        async move {
            let r = app.client.get(app.url(&path)).send().await.unwrap();
            (r.status(), r.bytes().await.unwrap())
        }
    };
    let slug = app.page.slug.clone();
    let paths = [
        format!("/p/{slug}/metrics/{id}/day.svg"),
        format!("/p/{slug}/metrics/{id}/day.json"),
        format!("/p/{slug}/metrics/{id}/week.json"),
        format!("/p/{slug}/"),
    ];
    let mut before = Vec::new();
    for p in &paths {
        before.push(get(p.clone()).await);
    }
    // Act: the database goes away (closing refuses new connections at once)
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), app.store.close()).await;
    let more = app
        .post(
            &app.page_path("/metrics/data"),
            &json!({"data": {&id: [{"timestamp": now, "value": 1.0}]}}),
        )
        .await;
    // Assert: new points are refused as a temporary outage; every chart and the page with
    // them are served as they were
    assert_eq!(
        more.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        more.text
    );
    assert!(more.headers.contains_key("retry-after"));
    for (p, was) in paths.iter().zip(&before) {
        assert_eq!(was.0, StatusCode::OK, "{p}");
        let now = get(p.clone()).await;
        assert_eq!(now.0, StatusCode::OK, "{p} while the database is down");
        assert_eq!(now.1, was.1, "{p} changed while the database is down");
    }
}

both_backends!(
    the_day_chart_is_an_accessible_svg_with_gaps_drawn_as_gaps,
    charts_keep_serving_while_the_database_is_down,
);
