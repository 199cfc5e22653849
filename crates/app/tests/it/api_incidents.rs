//! `/v1/pages/{page_id}/incidents`: incidents, maintenances and their updates.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};
use crate::{assert_v1_snapshot, both_backends};

/// Lets the clock move on, so that creation times (kept to the millisecond) differ.
async fn tick() {
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
}

fn names(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_owned())
        .collect()
}

async fn creating_an_incident_sets_component_statuses_and_records_them(b: Backend) {
    // Arrange
    let app = TestApp::spawn(b).await;
    let api = app.component("REST API").await;
    let id = api["id"].as_str().unwrap();
    // Act
    let i = app
        .incident(
            json!({"name": "Elevated API error rates", "status": "investigating",
            "body": "We are investigating elevated 5xx rates.", "component_ids": [id],
            "components": {id: "partial_outage"}, "metadata": {"jira": {"issue_id": "OPS-42"}}}),
        )
        .await;
    // Assert
    assert_eq!(
        i["impact"], "major",
        "partial outage implies a major impact"
    );
    assert_eq!(
        i["incident_updates"][0]["affected_components"][0]["old_status"],
        "operational"
    );
    assert_eq!(i["components"][0]["status"], "partial_outage");
    assert!(
        i["shortlink"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/p/acme/incidents/{}", i["id"].as_str().unwrap()))
    );
    assert_v1_snapshot!("v1_incident_created", &i);
    let c = app
        .get(&app.page_path(&format!("/components/{id}")))
        .await
        .json();
    assert_eq!(c["status"], "partial_outage");
}

async fn patching_status_and_body_posts_an_update_newest_first(b: Backend) {
    let app = TestApp::spawn(b).await;
    let api = app.component("API").await;
    let cid = api["id"].as_str().unwrap();
    let i = app
        .incident(json!({"name": "Outage", "body": "Looking", "components": {cid: "major_outage"}}))
        .await;
    let path = app.page_path(&format!("/incidents/{}", i["id"].as_str().unwrap()));
    let r = app
        .patch(
            &path,
            &json!({"incident": {"status": "identified", "body": "Found it"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = app.patch(&path, &json!({"incident": {"status": "monitoring", "body": "Fixed", "components": {cid: "operational"}}})).await;
    let i = r.json();
    let bodies: Vec<&str> = i["incident_updates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["Fixed", "Found it", "Looking"]);
    assert_eq!(i["status"], "monitoring");
    assert!(i["monitoring_at"].is_string());
    assert_eq!(i["impact"], "critical", "impact keeps the worst seen");
    let r = app
        .patch(&path, &json!({"incident": {"status": "resolved"}}))
        .await;
    assert!(r.json()["resolved_at"].is_string());
    let unresolved = app
        .get(&app.page_path("/incidents/unresolved"))
        .await
        .json();
    assert_eq!(unresolved.as_array().unwrap().len(), 0);
    // Renaming alone posts no update.
    let r = app
        .patch(&path, &json!({"incident": {"name": "API outage"}}))
        .await;
    assert_eq!(r.json()["incident_updates"].as_array().unwrap().len(), 4);
}

async fn maintenances_are_listed_where_clients_look_for_them(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.incident(json!({"name": "Realtime", "status": "investigating"}))
        .await;
    tick().await;
    let m = app
        .incident(json!({"name": "DB upgrade", "status": "scheduled", "scheduled_for": "2099-03-10T02:00:00Z",
            "scheduled_until": "2099-03-10T04:00:00Z", "scheduled_auto_in_progress": true}))
        .await;
    assert_eq!(m["impact"], "maintenance");
    assert_v1_snapshot!("v1_maintenance_created", &m);
    assert_eq!(m["scheduled_for"], "2099-03-10T02:00:00.000Z");
    assert_eq!(m["scheduled_auto_in_progress"], true);
    assert_eq!(
        names(&app.get(&app.page_path("/incidents/upcoming")).await.json()),
        ["DB upgrade"]
    );
    assert_eq!(
        names(&app.get(&app.page_path("/incidents/scheduled")).await.json()),
        ["DB upgrade"]
    );
    assert_eq!(
        names(
            &app.get(&app.page_path("/incidents/unresolved"))
                .await
                .json()
        ),
        ["Realtime"]
    );
    assert!(
        app.get(&app.page_path("/incidents/active_maintenance"))
            .await
            .json()
            .as_array()
            .unwrap()
            .is_empty()
    );
    let path = app.page_path(&format!("/incidents/{}", m["id"].as_str().unwrap()));
    app.patch(
        &path,
        &json!({"incident": {"status": "in_progress", "body": "Started"}}),
    )
    .await;
    assert_eq!(
        names(
            &app.get(&app.page_path("/incidents/active_maintenance"))
                .await
                .json()
        ),
        ["DB upgrade"]
    );
    assert_eq!(
        names(&app.get(&app.page_path("/incidents")).await.json()),
        ["DB upgrade", "Realtime"]
    );
}

async fn incidents_can_be_searched_and_paged(b: Backend) {
    let app = TestApp::spawn(b).await;
    for n in [
        "Database slow",
        "API errors",
        "Database down",
        "100% CPU_load",
    ] {
        app.incident(json!({"name": n})).await;
        tick().await;
    }
    assert_eq!(
        names(
            &app.get(&app.page_path("/incidents?q=database"))
                .await
                .json()
        ),
        ["Database down", "Database slow"]
    );
    assert_eq!(
        names(&app.get(&app.page_path("/incidents?q=%25")).await.json()),
        ["100% CPU_load"],
        "% is literal"
    );
    assert_eq!(
        names(&app.get(&app.page_path("/incidents?q=_")).await.json()),
        ["100% CPU_load"],
        "_ is literal"
    );
    assert_eq!(
        names(
            &app.get(&app.page_path("/incidents?limit=2&page=2"))
                .await
                .json()
        ),
        ["API errors", "Database slow"]
    );
    assert_eq!(
        names(
            &app.get(&app.page_path("/incidents?limit=2&page=3"))
                .await
                .json()
        ),
        Vec::<String>::new()
    );
}

async fn a_past_update_can_be_edited(b: Backend) {
    let app = TestApp::spawn(b).await;
    let i = app.incident(json!({"name": "N", "body": "Frist"})).await;
    let u = &i["incident_updates"][0];
    let path = app.page_path(&format!(
        "/incidents/{}/incident_updates/{}",
        i["id"].as_str().unwrap(),
        u["id"].as_str().unwrap()
    ));
    let r = app
        .patch(
            &path,
            &json!({"incident_update": {"body": "First", "display_at": "2025-03-04T10:00:00Z"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_v1_snapshot!("v1_incident_update", &r.json());
    assert_eq!(r.json()["body"], "First");
    assert_eq!(r.json()["display_at"], "2025-03-04T10:00:00.000Z");
    let again = app
        .get(&app.page_path(&format!("/incidents/{}", i["id"].as_str().unwrap())))
        .await
        .json();
    assert_eq!(again["incident_updates"][0]["body"], "First");
    let wrong = app.page_path(&format!(
        "/incidents/{}/incident_updates/zzzzzzzzzzzz",
        i["id"].as_str().unwrap()
    ));
    assert_eq!(
        app.patch(&wrong, &json!({"incident_update": {"body": "x"}}))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

async fn deleting_an_incident_returns_it_and_forgets_it(b: Backend) {
    let app = TestApp::spawn(b).await;
    let i = app.incident(json!({"name": "Gone soon"})).await;
    let path = app.page_path(&format!("/incidents/{}", i["id"].as_str().unwrap()));
    let r = app.delete(&path).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["name"], "Gone soon");
    assert_eq!(app.get(&path).await.status, StatusCode::NOT_FOUND);
}

async fn a_page_in_another_time_zone_prints_its_offset(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.patch(
        &app.page_path(""),
        &json!({"page": {"time_zone": "America/Los_Angeles"}}),
    )
    .await;
    let m = app
        .incident(json!({"name": "M", "scheduled_for": "2099-06-24T13:07:14.473Z", "scheduled_until": "2099-06-24T15:00:00Z"}))
        .await;
    assert_eq!(m["scheduled_for"], "2099-06-24T06:07:14.473-07:00");
    assert!(
        m["created_at"].as_str().unwrap().ends_with(":00")
            && !m["created_at"].as_str().unwrap().ends_with('Z')
    );
}

async fn concurrent_updates_of_one_incident_are_all_kept(b: Backend) {
    // Arrange: 20 writers queue on one page's lock with 10 connections; a writer may wait
    // for a connection longer than the outage bound (750 ms, which answers 503) on a loaded
    // machine, and this test is about none being lost, so it waits as long as it takes.
    let app = TestApp::spawn_with(b, |c| c.db_acquire_timeout_ms = 30_000).await;
    let c = app.component("API").await;
    let cid = c["id"].as_str().unwrap().to_owned();
    let i = app.incident(json!({"name": "Busy"})).await;
    let path = app.page_path(&format!("/incidents/{}", i["id"].as_str().unwrap()));
    // Act: 20 updates at once, alternating component statuses.
    let mut tasks = Vec::new();
    for n in 0..20 {
        let (client, url, key, cid) = (
            app.client.clone(),
            app.url(&path),
            app.key.clone(),
            cid.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let status = if n % 2 == 0 { "major_outage" } else { "degraded_performance" };
            client
                .patch(url)
                .header("Authorization", format!("OAuth {key}"))
                .json(&json!({"incident": {"body": format!("update {n}"), "components": {cid: status}}}))
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::OK);
    }
    // Assert: every update is there, and the recorded old → new statuses chain without gaps.
    let i = app.get(&path).await.json();
    let updates = i["incident_updates"].as_array().unwrap();
    assert_eq!(updates.len(), 21);
    let mut bodies: Vec<&str> = updates
        .iter()
        .map(|u| u["body"].as_str().unwrap())
        .collect();
    bodies.sort_unstable();
    assert_eq!(
        bodies.iter().filter(|b| b.starts_with("update ")).count(),
        20
    );
    let mut chain: Vec<(&str, &str)> = updates
        .iter()
        .rev()
        .filter_map(|u| u["affected_components"].as_array())
        .map(|a| {
            (
                a[0]["old_status"].as_str().unwrap(),
                a[0]["new_status"].as_str().unwrap(),
            )
        })
        .collect();
    let mut prev = "operational";
    for (old, new) in chain.drain(..) {
        assert_eq!(old, prev, "an update saw a stale status");
        prev = new;
    }
}

both_backends!(
    creating_an_incident_sets_component_statuses_and_records_them,
    patching_status_and_body_posts_an_update_newest_first,
    maintenances_are_listed_where_clients_look_for_them,
    incidents_can_be_searched_and_paged,
    a_past_update_can_be_edited,
    deleting_an_incident_returns_it_and_forgets_it,
    a_page_in_another_time_zone_prints_its_offset,
    concurrent_updates_of_one_incident_are_all_kept,
);
