//! The v1 uptime endpoints (component and group) and the incident subscribers endpoints, on
//! both backends, on a manual clock so the figures are exact.

use chrono::{DateTime, Utc};
use herald_domain::clock::ManualClock;
use reqwest::StatusCode;
use serde_json::json;
use std::sync::Arc;

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

async fn uptime_follows_herald_rules_over_statuspage_ranges(b: Backend) {
    // Arrange: two components from March 1st; the API down for one hour on March 10th by an
    // incident; now is March 20th
    let clock = Arc::new(ManualClock::new(at("2025-03-01T00:00:00Z")));
    let app = TestApp::spawn_with_clock(b, clock.clone(), |_| {}).await;
    let api = app.component("API").await;
    let cdn = app.component("CDN").await;
    let (api_id, cdn_id) = (api["id"].as_str().unwrap(), cdn["id"].as_str().unwrap());
    let r = app
        .post(
            &app.page_path("/component-groups"),
            &json!({"component_group": {"name": "Core", "components": [api_id, cdn_id]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let group = r.json()["id"].as_str().unwrap().to_owned();
    clock.set(at("2025-03-10T00:00:00Z"));
    let inc = app
        .incident(json!({"name": "API down", "status": "investigating", "components": {api_id: "major_outage"}, "component_ids": [api_id], "deliver_notifications": false}))
        .await;
    let inc_id = inc["id"].as_str().unwrap();
    clock.set(at("2025-03-10T01:00:00Z"));
    let r = app
        .patch(
            &app.page_path(&format!("/incidents/{inc_id}")),
            &json!({"incident": {"status": "resolved", "components": {api_id: "operational"}, "deliver_notifications": false}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    clock.set(at("2025-03-20T00:00:00Z"));
    // Act
    let c = app
        .get(&app.page_path(&format!(
            "/components/{api_id}/uptime?start=2025-03-01&end=2025-03-19"
        )))
        .await;
    let g = app
        .get(&app.page_path(&format!(
            "/component-groups/{group}/uptime?start=2025-03&end=2025-03-19"
        )))
        .await;
    let d = app
        .get(&app.page_path(&format!("/components/{cdn_id}/uptime")))
        .await;
    // Assert: 1 h down of 19 days for the component; of 38 component-days for the group
    assert_eq!(c.status, StatusCode::OK, "{}", c.text);
    let c = c.json();
    assert_eq!(c["id"], api_id);
    assert_eq!(c["name"], "API");
    assert_eq!(
        (c["range_start"].as_str(), c["range_end"].as_str()),
        (Some("2025-03-01"), Some("2025-03-19"))
    );
    assert_eq!(c["major_outage"], 3600);
    assert_eq!(c["partial_outage"], 0);
    assert_eq!(c["uptime_percentage"], 99.78);
    assert_eq!(c["related_events"], json!([{"id": inc_id}]));
    assert_eq!(c["warnings"], json!([]));
    let g = g.json();
    assert_eq!(g["id"], group.as_str());
    assert_eq!(g["major_outage"], 3600);
    assert_eq!(g["uptime_percentage"], 99.89);
    // the default range: 90 days to today, here from the component's creation on
    let d = d.json();
    assert_eq!(d["range_end"], "2025-03-20");
    assert_eq!(d["range_start"], "2024-12-21");
    assert_eq!(d["uptime_percentage"], 100.0);
    assert_eq!(d["related_events"], json!([]));
    // Bad ranges and ids
    for (q, field) in [
        ("start=2024-01&end=2025-03", "at most 6 months"),
        ("start=2025-03-15&end=2025-03-01", "is after end"),
        ("start=last-week", "start must be a date"),
        ("end=2025-02-30", "end must be a date"),
    ] {
        let r = app
            .get(&app.page_path(&format!("/components/{api_id}/uptime?{q}")))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q}: {}", r.text);
        assert!(r.error().contains(field), "{q}: {}", r.error());
    }
    let r = app
        .get(&app.page_path(&format!("/components/{group}/uptime")))
        .await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "a group is not a component"
    );
    let r = app
        .get(&app.page_path(&format!("/component-groups/{api_id}/uptime")))
        .await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "a component is not a group"
    );
    let other = app.new_page("other").await;
    let r = app
        .get(&format!(
            "/v1/pages/{}/components/{api_id}/uptime",
            other.id
        ))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "another page's key");
}

async fn incident_subscribers_follow_one_incident(b: Backend) {
    // Arrange
    let app = TestApp::spawn(b).await;
    let inc = app
        .incident(
            json!({"name": "Watch me", "status": "investigating", "deliver_notifications": false}),
        )
        .await;
    let other = app
        .incident(
            json!({"name": "Not this", "status": "investigating", "deliver_notifications": false}),
        )
        .await;
    let (inc_id, other_id) = (inc["id"].as_str().unwrap(), other["id"].as_str().unwrap());
    let base = app.page_path(&format!("/incidents/{inc_id}/subscribers"));
    // Act
    let r = app
        .post(&base, &json!({"subscriber": {"email": "Watcher@Example.com", "skip_confirmation_notification": true}}))
        .await;
    // Assert
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let sub = r.json();
    let sid = sub["id"].as_str().unwrap();
    assert_eq!(sub["email"], "watcher@example.com");
    assert_eq!(sub["incident_id"], inc_id);
    assert_eq!(sub["state"], "active");
    let again = app
        .post(
            &base,
            &json!({"subscriber": {"email": "watcher@example.com"}}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);
    let listed = app.get(&base).await.json();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], sid);
    assert_eq!(app.get(&format!("{base}/{sid}")).await.json()["id"], sid);
    let wrong = app.page_path(&format!("/incidents/{other_id}/subscribers/{sid}"));
    assert_eq!(app.get(&wrong).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get(&app.page_path(&format!("/incidents/{other_id}/subscribers")))
            .await
            .json(),
        json!([])
    );
    let r = app
        .post(&format!("{base}/{sid}/resend_confirmation"), &json!({}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // bad input
    let r = app.post(&base, &json!({"subscriber": {}})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let r = app
        .post(
            &app.page_path("/incidents/zzzzzzzzzzzz/subscribers"),
            &json!({"subscriber": {"email": "a@example.com"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Act 2: unsubscribe
    let gone = app.delete(&format!("{base}/{sid}")).await;
    assert_eq!(gone.status, StatusCode::OK, "{}", gone.text);
    assert_eq!(gone.json()["state"], "unsubscribed");
    assert_eq!(app.get(&base).await.json(), json!([]));
}

both_backends!(
    uptime_follows_herald_rules_over_statuspage_ranges,
    incident_subscribers_follow_one_incident,
);
