//! The metrics screen, driven through its real forms: providers and metrics listed with what
//! their polls found, a metric created with its provider query (bad input answered 422
//! beside its field, nothing written), its last day previewed as SVG from pushed points,
//! and deleted through the confirmation page, leaving the public page.

use herald_domain::clock::{Clock, SystemClock};
use herald_domain::user::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::admin_support::{Admin, admin_page, user};
use crate::both_backends;
use crate::helpers::{Backend, TestApp};
use crate::metrics_api::provider;

async fn metrics(app: &TestApp) -> Vec<herald_domain::metric::Metric> {
    app.store.list_metrics(&app.page.id, None).await.unwrap()
}

async fn admin_metrics_creates_previews_and_deletes_metrics(backend: Backend) {
    // Arrange: a pushed (Self) provider and a Prometheus one
    let app = TestApp::spawn(backend).await;
    let own = provider(&app, json!({"type": "Self"})).await;
    let own = own["id"].as_str().unwrap().to_owned();
    let prom = provider(
        &app,
        json!({"type": "Prometheus", "metric_base_uri": "http://93.184.215.14:9090"}),
    )
    .await;
    let prom = prom["id"].as_str().unwrap().to_owned();
    user(&app, "owner@example.com", Role::Owner).await;
    let a = Admin::login(&app, "owner@example.com").await;
    let screen = admin_page(&app, "/metrics");
    let first = a.get(&screen).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert!(first.text.contains("http://93.184.215.14:9090"));
    assert!(first.text.contains("No metrics yet."));
    assert!(a.get(&admin_page(&app, "")).await.text.contains(&screen));

    // Act + Assert: bad input, nothing written
    let blank_query = a
        .post(
            &screen,
            &[
                ("provider_id", &prom),
                ("name", "p99 latency"),
                ("metric_identifier", ""),
                ("display", "on"),
            ],
        )
        .await;
    assert_eq!(
        blank_query.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        blank_query.text
    );
    assert!(
        blank_query.text.contains("id=\"m-query-err\""),
        "{}",
        blank_query.text
    );
    let places = a
        .post(
            &screen,
            &[
                ("provider_id", &own),
                ("name", "Queue"),
                ("decimal_places", "9"),
            ],
        )
        .await;
    assert_eq!(places.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        places
            .text
            .contains("decimal_places must be between 0 and 6"),
        "{}",
        places.text
    );
    let not_number = a
        .post(
            &screen,
            &[
                ("provider_id", &own),
                ("name", "Queue"),
                ("decimal_places", "two"),
            ],
        )
        .await;
    assert_eq!(not_number.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(not_number.text.contains("id=\"m-places-err\""));
    let foreign = a
        .post(&screen, &[("provider_id", "nope"), ("name", "Queue")])
        .await;
    assert_eq!(foreign.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        foreign.text.contains("Choose one of this page"),
        "{}",
        foreign.text
    );
    assert!(metrics(&app).await.is_empty(), "nothing was written");

    // A Prometheus metric with its query, and a pushed one
    let q = "histogram_quantile(0.99, sum(rate(http_seconds_bucket{job=\"api\"}[5m])) by (le))";
    let made = a
        .post(
            &screen,
            &[
                ("provider_id", &prom),
                ("name", "API p99"),
                ("metric_identifier", q),
                ("suffix", " s"),
                ("decimal_places", "2"),
                ("transform", "max"),
                ("display", "on"),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.text);
    let pushed = a
        .post(
            &screen,
            &[
                ("provider_id", &own),
                ("name", "Queue <depth>"),
                ("display", "on"),
            ],
        )
        .await;
    assert_eq!(pushed.status, StatusCode::SEE_OTHER, "{}", pushed.text);
    let all = metrics(&app).await;
    assert_eq!(all.len(), 2);
    let p99 = all.iter().find(|m| m.name == "API p99").unwrap();
    assert_eq!(p99.metric_identifier, q);
    assert_eq!(p99.transform.as_str(), "max");
    assert_eq!(p99.decimal_places, 2);
    let queue = all
        .iter()
        .find(|m| m.name == "Queue <depth>")
        .unwrap()
        .id
        .clone();
    // Points pushed through the API show in the preview
    let now = SystemClock.now().timestamp();
    let data: Vec<_> = (1..=20)
        .map(|k| json!({"timestamp": now - 30 * k, "value": 40 + k}))
        .collect();
    let r = app
        .post(
            &app.page_path("/metrics/data"),
            &json!({"data": {queue.as_str(): data}}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text);
    let listed = a.get(&screen).await.text;
    assert!(listed.contains("histogram_quantile(0.99, sum(rate(http_seconds_bucket{job=&#34;api&#34;}[5m])) by (le))"), "the query is shown, escaped: {listed}");
    assert!(listed.contains("Queue &#60;depth&#62;") && !listed.contains("Queue <depth>"));
    assert!(
        listed.contains("Queue &#60;depth&#62;: current value"),
        "the preview's text alternative: {listed}"
    );
    assert!(listed.contains("API p99: no data in the last 24 hours"));
    let svg = a
        .get(&admin_page(&app, &format!("/metrics/{queue}/preview.svg")))
        .await;
    assert_eq!(svg.status, StatusCode::OK);
    assert!(
        svg.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("image/svg+xml")
    );
    assert!(
        svg.text.contains("<path d=\"M"),
        "a line is drawn: {}",
        svg.text
    );
    assert!(svg.text.contains("Queue &lt;depth&gt;"), "{}", svg.text);
    assert_eq!(
        a.get(&admin_page(&app, "/metrics/nope/preview.svg"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // Delete through the confirmation page: gone from the API and the public page's data
    let del = admin_page(&app, &format!("/metrics/{queue}/delete"));
    let confirm = a.get(&del).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert_eq!(metrics(&app).await.len(), 2, "a GET deletes nothing");
    let gone = a.post(&del, &[]).await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER, "{}", gone.text);
    assert_eq!(metrics(&app).await.len(), 1);
    let public = app
        .client
        .get(app.url(&format!("/p/{}/metrics/{queue}/day.json", app.page.slug)))
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), StatusCode::NOT_FOUND);
    assert_eq!(a.get(&del).await.status, StatusCode::NOT_FOUND);
}

both_backends!(admin_metrics_creates_previews_and_deletes_metrics);
