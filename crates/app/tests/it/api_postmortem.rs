//! Postmortems and incident templates.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, TestApp};
use crate::{assert_v1_snapshot, both_backends};

async fn a_postmortem_is_drafted_published_and_reverted(b: Backend) {
    // Arrange
    let app = TestApp::spawn(b).await;
    let i = app.incident(json!({"name": "Outage"})).await;
    let ipath = app.page_path(&format!("/incidents/{}", i["id"].as_str().unwrap()));
    let path = format!("{ipath}/postmortem");
    // Act and assert, step by step.
    let empty = app.get(&path).await;
    assert_eq!(empty.status, StatusCode::OK);
    assert_eq!(empty.json()["body_draft"], serde_json::Value::Null);
    let r = app
        .put(
            &path,
            &json!({"postmortem": {"body_draft": "## What happened\nA bad deploy."}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["published_at"], serde_json::Value::Null);
    let r = app
        .put(
            &format!("{path}/publish"),
            &json!({"postmortem": {"notify_subscribers": true}}),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "not resolved yet: {}",
        r.text
    );
    app.patch(&ipath, &json!({"incident": {"status": "resolved"}}))
        .await;
    let r = app
        .put(
            &format!("{path}/publish"),
            &json!({"postmortem": {"notify_subscribers": true}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_v1_snapshot!("v1_postmortem_published", &r.json());
    let inc = app.get(&ipath).await.json();
    assert_eq!(inc["status"], "postmortem");
    assert_eq!(inc["postmortem_body"], "## What happened\nA bad deploy.");
    let r = app.put(&format!("{path}/revert"), &json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["published_at"], serde_json::Value::Null);
    assert_eq!(app.get(&ipath).await.json()["status"], "resolved");
    let r = app.delete(&path).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&path).await.json()["body_draft"],
        serde_json::Value::Null
    );
}

async fn templates_are_created_and_listed_with_their_components(b: Backend) {
    let app = TestApp::spawn(b).await;
    let c = app.component("API").await;
    let r = app
        .post(
            &app.page_path("/incident_templates"),
            &json!({"template": {"name": "DB slow", "title": "Database latency", "body": "We are looking into it.",
                "update_status": "investigating", "component_ids": [c["id"]]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_v1_snapshot!("v1_template", &r.json());
    let list = app.get(&app.page_path("/incident_templates")).await.json();
    assert_eq!(list[0]["components"][0]["name"], "API");
    let r = app
        .post(
            &app.page_path("/incident_templates"),
            &json!({"template": {"name": "x", "title": "y", "component_ids": ["nope00000000"]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.get(&app.page_path("/incident_templates"))
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

both_backends!(
    a_postmortem_is_drafted_published_and_reverted,
    templates_are_created_and_listed_with_their_components,
);
