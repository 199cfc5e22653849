//! Alertmanager's semantics through the hook URL (RELIABILITY.md row 8): HA duplicates make
//! one change and one notification, a stale firing never reopens a resolved alert, repeats
//! change nothing, resolving one of two alerts leaves the worst still firing, flapping
//! inside the window changes the component once, an open incident holds automation back
//! (audited) unless the page lets it override, a group of 10,000 alerts is one request,
//! and the generic webhook answers with what it changed.

use chrono::TimeDelta;
use herald_domain::clock::{Clock, ManualClock, SystemClock};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Instant;

use crate::automation_support::{
    ZERO, alert, audited, component_events, integration, payload, post_json, public_status,
};
use crate::both_backends;
use crate::helpers::{Backend, TestApp, figure};

const T0: &str = "2026-03-01T10:00:00Z";
const T1: &str = "2026-03-01T10:05:00Z";
const T2: &str = "2026-03-01T10:20:00Z";

async fn ha_duplicates_stale_firings_and_repeats_change_nothing(b: Backend) {
    // Arrange
    let app = TestApp::spawn(b).await;
    let api = app.component("API").await;
    let id = api["id"].as_str().unwrap().to_owned();
    let am = integration(
        &app,
        json!({"type": "alertmanager", "name": "AM", "flap_window_seconds": 0}),
    )
    .await;
    let firing = payload(vec![alert("HighErrors", "API", "critical", true, T0, ZERO)]);
    // Act: the same alert from five Alertmanagers of a cluster
    let mut answers = Vec::new();
    for _ in 0..5 {
        let r = post_json(&app, &am.url, &firing).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        answers.push(r.json());
    }
    // Assert: one change, one notification event, the integration as the actor
    assert_eq!(public_status(&app, &id).await, "major_outage");
    assert_eq!(
        answers[0]["changed"][0]["to"], "major_outage",
        "{}",
        answers[0]
    );
    assert_eq!(answers[0]["changed"][0]["from"], "operational");
    for a in &answers[1..] {
        assert_eq!(a["changed"], json!([]), "{a}");
        assert_eq!(a["alerts_updated"], 0, "{a}");
    }
    assert_eq!(audited(&app, &am.id, "component.update").await.len(), 1);
    assert_eq!(component_events(&app, &id).await, 1);
    // Act: resolved (from two of them), then a stale copy of the firing and a repeat
    let resolved = payload(vec![alert("HighErrors", "API", "critical", false, T0, T1)]);
    assert_eq!(
        post_json(&app, &am.url, &resolved).await.json()["changed"][0]["to"],
        "operational"
    );
    assert_eq!(
        post_json(&app, &am.url, &resolved).await.json()["changed"],
        json!([])
    );
    let stale = post_json(&app, &am.url, &firing).await;
    // Assert
    assert_eq!(stale.status, StatusCode::OK);
    assert_eq!(stale.json()["changed"], json!([]), "{}", stale.text);
    assert_eq!(public_status(&app, &id).await, "operational");
    assert_eq!(audited(&app, &am.id, "component.update").await.len(), 2);
    assert_eq!(component_events(&app, &id).await, 2);
    // A new occurrence fires again; its repeat after repeat_interval changes nothing.
    let again = payload(vec![alert("HighErrors", "API", "warning", true, T2, ZERO)]);
    assert_eq!(
        post_json(&app, &am.url, &again).await.json()["changed"][0]["to"],
        "degraded_performance"
    );
    assert_eq!(
        post_json(&app, &am.url, &again).await.json()["changed"],
        json!([])
    );
    assert_eq!(component_events(&app, &id).await, 3);
}

async fn resolving_one_alert_leaves_the_worst_still_firing(b: Backend) {
    // Arrange: two alerts on one component, a rule for a third kind of label
    let app = TestApp::spawn(b).await;
    let db = app.component("Database").await;
    let id = db["id"].as_str().unwrap().to_owned();
    let am = integration(&app, json!({"type": "alertmanager", "name": "AM", "flap_window_seconds": 0,
        "rules": [{"label": "team", "value": "dba", "component": "Database", "status": "partial_outage"}]})).await;
    // Act
    let both = payload(vec![
        alert("Slow", "Database", "warning", true, T0, ZERO),
        alert("Down", "Database", "critical", true, T0, ZERO),
    ]);
    let r = post_json(&app, &am.url, &both).await.json();
    // Assert: the worst wins
    assert_eq!(r["changed"][0]["to"], "major_outage", "{r}");
    let r = post_json(
        &app,
        &am.url,
        &payload(vec![alert("Down", "Database", "critical", false, T0, T1)]),
    )
    .await
    .json();
    assert_eq!(r["changed"][0]["to"], "degraded_performance", "{r}");
    assert_eq!(public_status(&app, &id).await, "degraded_performance");
    // A status annotation wins over the severity; a rule maps an alert with no component label.
    let mut annotated = alert("Slow", "Database", "warning", true, T0, ZERO);
    annotated["annotations"]["status"] = json!("major_outage");
    assert_eq!(
        post_json(&app, &am.url, &payload(vec![annotated]))
            .await
            .json()["changed"][0]["to"],
        "major_outage"
    );
    let r = post_json(
        &app,
        &am.url,
        &payload(vec![alert("Slow", "Database", "warning", false, T0, T1)]),
    )
    .await
    .json();
    assert_eq!(r["changed"][0]["to"], "operational", "{r}");
    let ruled = json!({"status": "firing", "labels": {"alertname": "Replication", "team": "dba"}, "startsAt": T1, "endsAt": ZERO});
    let r = post_json(
        &app,
        &am.url,
        &payload(vec![
            ruled,
            json!({"status": "firing", "labels": {"alertname": "Unrelated"}}),
        ]),
    )
    .await
    .json();
    assert_eq!(r["changed"][0]["to"], "partial_outage", "{r}");
    assert_eq!(r["ignored"], 1, "{r}");
}

async fn flapping_inside_the_window_changes_the_component_once(b: Backend) {
    // Arrange: a manual clock; a 60 s flap window
    let clock = Arc::new(ManualClock::new(SystemClock.now() - TimeDelta::days(1)));
    let app = TestApp::spawn_with_clock(b, clock.clone(), |c| c.worker_stale_ms = 86_400_000).await;
    let api = app.component("API").await;
    let id = api["id"].as_str().unwrap().to_owned();
    let am = integration(
        &app,
        json!({"type": "alertmanager", "name": "AM", "flap_window_seconds": 60}),
    )
    .await;
    // Act: firing/resolved ten times in 50 s, each a new occurrence
    let start = clock.now();
    for n in 0..10 {
        let at = |s: i64| (start + TimeDelta::seconds(s)).to_rfc3339();
        let f = post_json(
            &app,
            &am.url,
            &payload(vec![alert(
                "Flappy",
                "API",
                "critical",
                true,
                &at(n * 5),
                ZERO,
            )]),
        )
        .await;
        assert_eq!(f.status, StatusCode::OK, "{}", f.text);
        clock.advance(TimeDelta::seconds(2));
        let r = post_json(
            &app,
            &am.url,
            &payload(vec![alert(
                "Flappy",
                "API",
                "critical",
                false,
                &at(n * 5),
                &at(n * 5 + 2),
            )]),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        clock.advance(TimeDelta::seconds(3));
    }
    // Assert: one change so far (the first firing); the last resolve waits for the window
    assert_eq!(audited(&app, &am.id, "component.update").await.len(), 1);
    assert_eq!(public_status(&app, &id).await, "major_outage");
    clock.set(start + TimeDelta::seconds(61));
    let applied = app.store.apply_due_automation(clock.now()).await.unwrap();
    assert!(applied.len() <= 1, "{applied:?}");
    wait_status(&app, &id, "operational").await;
    assert_eq!(audited(&app, &am.id, "component.update").await.len(), 2);
    assert_eq!(component_events(&app, &id).await, 2);
}

/// Waits for summary.json to show `status` (the reconciler's change reaches the public page
/// through the version poll).
async fn wait_status(app: &TestApp, id: &str, status: &str) {
    let deadline = Instant::now() + std::time::Duration::from_secs(30);
    while public_status(app, id).await != status {
        assert!(Instant::now() < deadline, "{id} never became {status}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn an_open_incident_holds_automation_back_unless_the_page_allows_it(b: Backend) {
    // Arrange: an incident open on the component
    let app = TestApp::spawn(b).await;
    let api = app.component("API").await;
    let id = api["id"].as_str().unwrap().to_owned();
    let am = integration(
        &app,
        json!({"type": "alertmanager", "name": "AM", "flap_window_seconds": 0}),
    )
    .await;
    app.incident(json!({"name": "API errors", "status": "investigating", "component_ids": [id], "components": {id.as_str(): "partial_outage"}})).await;
    // Act
    let r = post_json(
        &app,
        &am.url,
        &payload(vec![alert("Down", "API", "critical", true, T0, ZERO)]),
    )
    .await
    .json();
    // Assert: nothing changed, the held-back change is in the audit under the integration
    assert_eq!(r["changed"], json!([]), "{r}");
    assert_eq!(r["held_back"][0]["to"], "major_outage", "{r}");
    assert_eq!(public_status(&app, &id).await, "partial_outage");
    let held = audited(&app, &am.id, "automation.held_back").await;
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].target_id, id);
    assert_eq!(
        held[0].changes["status"],
        json!(["partial_outage", "major_outage"])
    );
    assert_eq!(component_events(&app, &id).await, 1); // the incident's own change
    // Act: the page lets automation override; the next change goes through
    let p = app
        .patch(
            &app.page_path(""),
            &json!({"page": {"automation_overrides_incidents": true}}),
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    assert_eq!(p.json()["automation_overrides_incidents"], true);
    let r = post_json(
        &app,
        &am.url,
        &payload(vec![alert("Down", "API", "critical", false, T0, T1)]),
    )
    .await
    .json();
    // Assert
    assert_eq!(r["changed"][0]["to"], "operational", "{r}");
    assert_eq!(public_status(&app, &id).await, "operational");
}

async fn a_group_of_ten_thousand_alerts_is_one_request(b: Backend) {
    // Arrange: ten components, a thousand alerts each
    let app = TestApp::spawn(b).await;
    let mut ids = Vec::new();
    for n in 0..10 {
        ids.push(
            app.component(&format!("Service {n}")).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let am = integration(
        &app,
        json!({"type": "alertmanager", "name": "AM", "flap_window_seconds": 0}),
    )
    .await;
    let alerts: Vec<Value> = (0..10_000)
        .map(|n| {
            let sev = if n % 10 == 3 { "critical" } else { "warning" };
            alert(
                &format!("Alert{n}"),
                &format!("Service {}", n % 10),
                sev,
                true,
                T0,
                ZERO,
            )
        })
        .collect();
    let body = payload(alerts);
    // Act
    let started = Instant::now();
    let r = post_json(&app, &am.url, &body).await;
    figure("automation_10000_alerts", started.elapsed());
    // Assert
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let v = r.json();
    assert_eq!(v["alerts_updated"], 10_000);
    assert_eq!(v["changed"].as_array().unwrap().len(), 10);
    assert_eq!(public_status(&app, &ids[3]).await, "major_outage");
    assert_eq!(public_status(&app, &ids[4]).await, "degraded_performance");
    // The same group again (the next group_interval) changes nothing.
    let again = post_json(&app, &am.url, &body).await.json();
    assert_eq!(again["alerts_updated"], 0);
    assert_eq!(again["changed"], json!([]));
}

async fn the_generic_webhook_answers_with_what_it_changed(b: Backend) {
    // Arrange
    let app = TestApp::spawn(b).await;
    let api = app.component("API").await;
    let web = app.component("Website").await;
    let hook = integration(
        &app,
        json!({"type": "webhook", "name": "Deploy bot", "flap_window_seconds": 0}),
    )
    .await;
    // Act
    let one = post_json(
        &app,
        &hook.url,
        &json!({"component": api["id"], "status": "under_maintenance", "message": "deploying"}),
    )
    .await;
    let many = post_json(
        &app,
        &hook.url,
        &json!([
            {"component": "API", "status": "under_maintenance"},
            {"component": "Website", "status": "degraded_performance"}
        ]),
    )
    .await;
    // Assert
    assert_eq!(one.status, StatusCode::OK, "{}", one.text);
    assert_eq!(one.json()["changed"][0]["reason"], "deploying");
    assert_eq!(one.json()["changed"][0]["component"], "API");
    let m = many.json();
    assert_eq!(m["changed"].as_array().unwrap().len(), 1, "{m}");
    assert_eq!(m["changed"][0]["component_id"], web["id"]);
    assert_eq!(
        public_status(&app, web["id"].as_str().unwrap()).await,
        "degraded_performance"
    );
    let got = app
        .get(&app.page_path(&format!("/integrations/{}", hook.id)))
        .await
        .json();
    assert_eq!(got["requests"], 2);
}

both_backends!(
    ha_duplicates_stale_firings_and_repeats_change_nothing,
    resolving_one_alert_leaves_the_worst_still_firing,
    flapping_inside_the_window_changes_the_component_once,
    an_open_incident_holds_automation_back_unless_the_page_allows_it,
    a_group_of_ten_thousand_alerts_is_one_request,
    the_generic_webhook_answers_with_what_it_changed,
);
