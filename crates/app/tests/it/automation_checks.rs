//! Heartbeats and built-in checks against loopback servers the test controls, with time
//! given to the reconciler by the test (the server runs as a web node, so no background
//! reconciler runs a check behind the test's back): a missed ping sets the configured
//! status and the next ping restores it; an HTTP check and a TCP check need their failures
//! (and successes) in a row before they move the component.

use axum::http::StatusCode as AxStatus;
use chrono::TimeDelta;
use herald::config::Role;
use herald_domain::clock::{Clock, SystemClock};
use herald_notify::checks::Automation;
use herald_notify::egress::{ClientSettings, EgressPolicy, GuardedClient};
use herald_worker::Reconciler;
use reqwest::StatusCode;
use serde_json::json;
use std::sync::{Arc, Mutex};

use crate::automation_support::{audited, integration, post_json};
use crate::both_backends;
use crate::helpers::{Backend, TestApp, read};

fn reconciler(app: &TestApp) -> Automation {
    let policy = EgressPolicy::parse("127.0.0.0/8").unwrap();
    Automation {
        store: app.store.clone(),
        client: GuardedClient::new(policy, &ClientSettings::default()).unwrap(),
        tls_roots: herald_notify::tls_expiry::TlsRoots::empty(),
    }
}

async fn status_of(app: &TestApp, id: &str) -> String {
    app.get(&app.page_path(&format!("/components/{id}")))
        .await
        .json()["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn a_missed_heartbeat_sets_its_status_and_the_next_ping_restores_it(b: Backend) {
    // Arrange
    let app = TestApp::spawn_with(b, |c| c.role = Role::Web).await;
    let batch = app.component("Nightly batch").await;
    let id = batch["id"].as_str().unwrap().to_owned();
    let t0 = SystemClock.now();
    let hb = integration(
        &app,
        json!({"type": "heartbeat", "name": "nightly", "component_id": "Nightly batch",
        "interval_seconds": 60, "grace_seconds": 30, "down_status": "partial_outage"}),
    )
    .await;
    let r = reconciler(&app);
    // Act and assert: on time, nothing; past interval + grace, the configured status
    r.reconcile(t0 + TimeDelta::seconds(60)).await.unwrap();
    assert_eq!(status_of(&app, &id).await, "operational");
    r.reconcile(t0 + TimeDelta::seconds(120)).await.unwrap();
    assert_eq!(status_of(&app, &id).await, "partial_outage");
    assert_eq!(audited(&app, &hb.id, "component.update").await.len(), 1);
    // Still missing: no second change.
    r.reconcile(t0 + TimeDelta::seconds(300)).await.unwrap();
    assert_eq!(audited(&app, &hb.id, "component.update").await.len(), 1);
    // The next ping (GET, as `curl` in a cron job sends it) restores it.
    let ping = read(app.client.get(&hb.url).send().await.unwrap()).await;
    assert_eq!(ping.status, StatusCode::OK, "{}", ping.text);
    assert_eq!(ping.json()["changed"][0]["to"], "operational");
    assert_eq!(status_of(&app, &id).await, "operational");
    let again = post_json(&app, &hb.url, &json!({})).await;
    assert_eq!(again.json()["changed"], json!([]));
    let no_token = read(
        app.client
            .get(hb.url.split('?').next().unwrap())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(no_token.status, StatusCode::UNAUTHORIZED);
}

/// A loopback HTTP server answering with the status and body the test sets.
async fn health_server() -> (String, Arc<Mutex<(u16, &'static str)>>) {
    let answer = Arc::new(Mutex::new((200u16, "ok")));
    let a = answer.clone();
    let app = axum::Router::new().fallback(move || {
        let a = a.clone();
        async move {
            let (s, body) = *a.lock().unwrap();
            (AxStatus::from_u16(s).unwrap(), body)
        }
    });
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await });
    (format!("http://{addr}/health"), answer)
}

async fn an_http_check_needs_failures_and_successes_in_a_row(b: Backend) {
    // Arrange
    let app = TestApp::spawn_with(b, |c| c.role = Role::Web).await;
    let web = app.component("Website").await;
    let id = web["id"].as_str().unwrap().to_owned();
    let (url, answer) = health_server().await;
    let check = integration(
        &app,
        json!({"type": "http", "name": "website", "component_id": id, "target": url,
        "interval_seconds": 30, "timeout_seconds": 5, "failures_before_change": 2,
        "successes_before_recovery": 2, "body_contains": "ok"}),
    )
    .await;
    let r = reconciler(&app);
    let t0 = SystemClock.now();
    let at = |n: i64| t0 + TimeDelta::seconds(30 * n);
    // Act and assert
    r.reconcile(at(0)).await.unwrap();
    assert_eq!(status_of(&app, &id).await, "operational");
    *answer.lock().unwrap() = (503, "down");
    r.reconcile(at(1)).await.unwrap();
    assert_eq!(
        status_of(&app, &id).await,
        "operational",
        "one failure is not enough"
    );
    r.reconcile(at(2)).await.unwrap();
    assert_eq!(status_of(&app, &id).await, "major_outage");
    *answer.lock().unwrap() = (200, "degraded");
    r.reconcile(at(3)).await.unwrap();
    assert_eq!(
        status_of(&app, &id).await,
        "major_outage",
        "the body does not match"
    );
    *answer.lock().unwrap() = (200, "all ok");
    r.reconcile(at(4)).await.unwrap();
    assert_eq!(
        status_of(&app, &id).await,
        "major_outage",
        "one success is not enough"
    );
    r.reconcile(at(5)).await.unwrap();
    assert_eq!(status_of(&app, &id).await, "operational");
    assert_eq!(audited(&app, &check.id, "component.update").await.len(), 2);
    let got = app
        .get(&app.page_path(&format!("/integrations/{}", check.id)))
        .await
        .json();
    assert_eq!(got["check_state"]["up"], true, "{got}");
    // Not due yet: running again at the same time does nothing.
    r.reconcile(at(5)).await.unwrap();
    let again = app
        .get(&app.page_path(&format!("/integrations/{}", check.id)))
        .await
        .json();
    assert_eq!(
        again["check_state"]["successes"],
        got["check_state"]["successes"]
    );
}

async fn a_tcp_check_fails_when_nothing_listens(b: Backend) {
    // Arrange: a listener, then none on that port
    let app = TestApp::spawn_with(b, |c| c.role = Role::Web).await;
    let db = app.component("Database").await;
    let id = db["id"].as_str().unwrap().to_owned();
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = l.local_addr().unwrap().to_string();
    integration(
        &app,
        json!({"type": "tcp", "name": "db port", "component_id": id, "target": target,
        "interval_seconds": 10, "down_status": "partial_outage"}),
    )
    .await;
    let r = reconciler(&app);
    let t0 = SystemClock.now();
    // Act and assert
    r.reconcile(t0).await.unwrap();
    assert_eq!(status_of(&app, &id).await, "operational");
    drop(l);
    r.reconcile(t0 + TimeDelta::seconds(10)).await.unwrap();
    assert_eq!(status_of(&app, &id).await, "partial_outage");
    // A check aimed outside the egress policy fails as blocked, and bad settings are a 422.
    let bad = app
        .post(&app.page_path("/integrations"), &json!({"integration": {"type": "tcp", "name": "x", "component_id": id, "target": "no port"}}))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.json()["field"], "integration.target");
}

both_backends!(
    a_missed_heartbeat_sets_its_status_and_the_next_ping_restores_it,
    an_http_check_needs_failures_and_successes_in_a_row,
    a_tcp_check_fails_when_nothing_listens,
);
